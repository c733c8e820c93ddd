import { describe, expect, it } from 'vitest';
import { RetentionError } from '../../../src/errors.js';
import { parseRemoteDirectory, parseRemotePath } from '../../../src/delivery/remote-path.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(RetentionError);
    expect((err as RetentionError).status).toBe(400);
    return (err as RetentionError).code;
  }
  return undefined;
}

describe('parseRemotePath', () => {
  it.each([
    ['x.json', ['x.json']],
    ['acme/2025/01/31/chats/chats-1.json', ['acme', '2025', '01', '31', 'chats', 'chats-1.json']],
    ['acme/..hidden/x.json.gz', ['acme', '..hidden', 'x.json.gz']],
    ['acme/...', ['acme', '...']],
    ['a b/ü.json', ['a b', 'ü.json']],
  ])('accepts %j', (path, segments) => {
    expect(parseRemotePath(path)).toEqual(segments);
  });

  it.each([
    ['empty', ''],
    ['absolute', '/etc/passwd'],
    ['root', '/'],
    ['parent', '..'],
    ['parent first', '../x'],
    ['parent inside', 'a/../../x'],
    ['parent last', 'a/..'],
    ['dot', '.'],
    ['dot inside', 'a/./x'],
    ['empty segment', 'a//x'],
    ['trailing slash', 'a/'],
    ['backslash', 'a\\x'],
    ['backslash parent', '..\\x'],
    ['NUL', 'a\u0000x'],
    ['newline', 'a\nx'],
    ['carriage return', 'a\rx'],
    ['DEL', 'a\u007fx'],
  ])('refuses %s (%j) with ERR_PATH_INVALID', (_label, path) => {
    expect(codeOf(() => parseRemotePath(path))).toBe('ERR_PATH_INVALID');
  });

  it('says what is wrong and shows the path as JSON (no raw control characters in the message)', () => {
    try {
      parseRemotePath('a\nb');
    } catch (err) {
      expect((err as Error).message).toContain('"a\\nb"');
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describe('parseRemoteDirectory', () => {
  it.each([
    ['', []],
    ['.', []],
    ['acme/2025', ['acme', '2025']],
  ])('accepts %j', (path, segments) => {
    expect(parseRemoteDirectory(path)).toEqual(segments);
  });

  it.each(['/', './x', '..', 'a/', '/acme'])('refuses %j', (path) => {
    expect(codeOf(() => parseRemoteDirectory(path))).toBe('ERR_PATH_INVALID');
  });
});
