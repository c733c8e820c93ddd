import { describe, expect, it } from 'vitest';
import { noResetMailReason } from '../../../src/portal/routes/password-reset-request.js';
import type { User } from '../../../src/store/users-store.js';

const user = (role: 'owner' | 'administrator', status: User['status'] = 'active'): User =>
  ({ id: 'u'.repeat(24), tenantId: 'acme', email: 'jo@acme.example', role, status, passwordHash: '$argon2id$…' }) as User;
const allowed = { allowed: true } as const;
const settings = { ownerPasswordResetByMail: true };

describe('noResetMailReason', () => {
  it('mails a link to an active user with a password', () => {
    expect(noResetMailReason(user('administrator'), allowed, allowed, settings)).toBeUndefined();
  });

  it('while single sign-on is required, mails only the owner (the break-glass account)', () => {
    expect(noResetMailReason(user('administrator'), allowed, allowed, settings, true)).toBe('sso-required');
    expect(noResetMailReason(user('owner'), allowed, allowed, settings, true)).toBeUndefined();
    expect(noResetMailReason(user('owner'), allowed, allowed, { ownerPasswordResetByMail: false }, true)).toBe('owner-reset-off');
  });

  it('says why nothing is sent to the others', () => {
    expect(noResetMailReason(undefined, allowed, allowed, settings)).toBe('unknown-account');
    expect(noResetMailReason(user('administrator', 'invited'), allowed, allowed, settings)).toBe('account-invited');
    expect(noResetMailReason(user('administrator', 'disabled'), allowed, allowed, settings)).toBe('account-disabled');
  });
});
