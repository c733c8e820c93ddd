import { describe, expect, it } from 'vitest';
import { safeReturnPath } from '../../../src/portal/return-path.js';

describe('safeReturnPath (issue 16.4: deep links kept at sign-in, never an open redirect)', () => {
  it.each([
    ['/chats?channel=web', '/chats?channel=web'],
    ['/call-logs/abc%2Fdef', '/call-logs/abc%2Fdef'],
    ['/contacts?q=%E5%AE%A2%E6%9C%8D', '/contacts?q=%E5%AE%A2%E6%9C%8D'],
    ['/jobs/run-1#errors', '/jobs/run-1'],
    ['/./audit', '/audit'],
  ])('keeps the portal path %j as %j', (value, expected) => {
    expect(safeReturnPath(value)).toBe(expected);
  });

  it.each([
    ['another host', '//evil.example/x'],
    ['another host, backslash', '/\\evil.example'],
    ['a scheme', 'https://evil.example/'],
    ['javascript', 'javascript:alert(1)'],
    ['no leading slash', 'chats'],
    ['a control character', '/chats\nSet-Cookie: x'],
    ['a tab', '/\t/evil.example'],
    ['too long', `/${'a'.repeat(2000)}`],
    ['the sign-in page', '/sign-in?x=1'],
    ['sign-out', '/sign-out'],
    ['a reset link', '/reset-password?token=x'],
    ['home (the default anyway)', '/'],
    ['not a string', 42],
  ])('refuses %s', (_why, value) => {
    expect(safeReturnPath(value)).toBeUndefined();
  });
});
