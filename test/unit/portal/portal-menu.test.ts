import { describe, expect, it } from 'vitest';
import { principalOf } from '../../../src/access/principal.js';
import { portalMenu } from '../../../src/portal/navigation.js';

const owner = principalOf({ id: 'o', tenantId: 'acme', role: 'owner', dataTypes: [], capabilities: [] });
const chatsOnly = principalOf({ id: 'c', tenantId: 'acme', role: 'administrator', dataTypes: ['chats'], capabilities: [] });

const currentOf = (path: string, principal = owner): string[] =>
  portalMenu(principal, path)
    .filter((link) => link.current)
    .map((link) => link.label);

describe('portalMenu: the menu item the page belongs to (aria-current)', () => {
  it.each([
    ['/', ['Dashboard']],
    ['/call-logs', ['Call logs']],
    ['/call-logs/c-1', ['Call logs']],
    ['/chats/c%2F1', ['Chats']],
    ['/contacts', ['Contacts']],
    ['/exports/e-1', ['Exports']],
    ['/account/sessions', ['Account']],
    ['/account/two-factor/setup', ['Account']],
    ['/settings/security', ['Security']],
    ['/settings/retention', ['Retention']],
    ['/jobs/run-1', ['Jobs']],
    ['/audit', ['Audit log']],
    ['/outbox', ['Outbox']],
    ['/no-such-page', []],
    ['/chatsroom', []],
    ['/audit.csv', []],
  ])('%s marks %j', (path, expected) => {
    expect(currentOf(path)).toEqual(expected);
  });

  it('marks nothing the principal may not open, and keeps the links of allowedLinks in order', () => {
    expect(currentOf('/call-logs', chatsOnly)).toEqual([]);
    expect(portalMenu(chatsOnly, '/chats').map((link) => [link.label, link.current])).toEqual([
      ['Dashboard', false],
      ['Chats', true],
      ['Account', false],
    ]);
  });
});
