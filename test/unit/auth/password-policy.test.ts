import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMON_PASSWORDS } from '../../../src/auth/common-passwords.js';
import { hashPassword } from '../../../src/auth/password-hashing.js';
import {
  DEFAULT_PASSWORD_POLICY,
  PASSWORD_EXPIRY_EXPLANATION,
  PASSWORD_HISTORY_EXPLANATION,
  checkPassword,
  checkPasswordReuse,
  isCommonPassword,
  isPasswordExpired,
  nextPasswordHistory,
  parsePasswordPolicy,
  storedPasswordPolicy,
  type PasswordPolicy,
} from '../../../src/auth/password-policy.js';
import { RetentionError } from '../../../src/errors.js';

const codes = (policy: PasswordPolicy, password: string, context = {}): string[] => checkPassword(policy, password, context).map((p) => p.code);
const policy8 = parsePasswordPolicy({ minLength: 8 }, { minLengthFloor: 8 });

describe('password policy settings', () => {
  it('ASVS 2.1.1 / 2.1.10: defaults are 12 characters, lockout 10 × 15 min, no history, no expiry', () => {
    expect(DEFAULT_PASSWORD_POLICY).toEqual({
      minLength: 12,
      blockedWords: [],
      lockoutThreshold: 10,
      lockoutMinutes: 15,
      passwordHistory: 0,
      expiryDays: 0,
    });
    expect(parsePasswordPolicy(undefined)).toEqual(DEFAULT_PASSWORD_POLICY);
  });

  it('keeps valid settings', () => {
    expect(parsePasswordPolicy({ minLength: 16, lockoutThreshold: 5, passwordHistory: 5, expiryDays: 90 })).toMatchObject({
      minLength: 16,
      lockoutThreshold: 5,
      passwordHistory: 5,
      expiryDays: 90,
      lockoutMinutes: 15,
    });
  });

  it.each([
    ['minLength', { minLength: 7 }],
    ['minLength', { minLength: 129 }],
    ['minLength', { minLength: 12.5 }],
    ['minLength', { minLength: '12' }],
    ['lockoutThreshold', { lockoutThreshold: 101 }],
    ['lockoutThreshold', { lockoutThreshold: 2 }],
    ['lockoutMinutes', { lockoutMinutes: 0 }],
    ['passwordHistory', { passwordHistory: -1 }],
    ['passwordHistory', { passwordHistory: 25 }],
    ['expiryDays', { expiryDays: -1 }],
    ['blockedWords', { blockedWords: ['abc'] }],
    ['requireDigit', { requireDigit: true }],
    ['requireSymbol', { requireSymbol: true }],
  ])('refuses a bad %s, naming it (ASVS 2.1.9: composition rules do not exist)', (field, input) => {
    const err = (() => {
      try {
        parsePasswordPolicy(input);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RetentionError);
    expect((err as RetentionError).code).toBe('ERR_PASSWORD_POLICY_INVALID');
    expect((err as RetentionError).message).toContain(field);
  });

  it('says what is wrong with the value typed and what is accepted, in the words of the Security page (issue 16.8)', () => {
    const messageOf = (input: unknown): string => {
      try {
        parsePasswordPolicy(input);
      } catch (e) {
        return (e as RetentionError).message;
      }
      return '';
    };
    expect(messageOf({ minLength: 'twelve' })).toBe('Minimum length (minLength): "twelve" is not accepted; enter a whole number from 12 to 128.');
    expect(messageOf({ lockoutMinutes: 0 })).toBe(
      'Minutes an account stays locked (lockoutMinutes): "0" is not accepted; enter a whole number from 1 to 1440.',
    );
    expect(messageOf({ expiryDays: '' })).toBe(
      'Days before a password expires (expiryDays): an empty value is not accepted; enter a whole number from 0 to 3650.',
    );
    expect(messageOf({ blockedWords: ['abc'] })).toContain('each word needs 4 to 64 characters');
    for (const input of [{ minLength: 7 }, { lockoutThreshold: 2.5 }, { requireDigit: true }]) {
      expect(messageOf(input)).not.toMatch(/Invalid input|expected|Too small|>=/);
    }
  });

  it('issue 10.12: refuses a minimum length under the operator’s floor (12 unless lowered), naming the variable', () => {
    for (const minLength of [8, 10, 11]) {
      expect(() => parsePasswordPolicy({ minLength })).toThrow(/PASSWORD_MIN_LENGTH_FLOOR/);
    }
    expect(parsePasswordPolicy({ minLength: 12 }).minLength).toBe(12);
    expect(parsePasswordPolicy({ minLength: 10 }, { minLengthFloor: 10 }).minLength).toBe(10);
    expect(() => parsePasswordPolicy({ minLength: 9 }, { minLengthFloor: 10 })).toThrow(/at least 10/);
  });

  it('issue 10.12: applies a stored policy under the floor at the floor, and keeps one above it', () => {
    expect(storedPasswordPolicy({ minLength: 8, lockoutThreshold: 5 })).toMatchObject({ minLength: 12, lockoutThreshold: 5 });
    expect(storedPasswordPolicy({ minLength: 8 }, { minLengthFloor: 8 }).minLength).toBe(8);
    expect(storedPasswordPolicy({ minLength: 20 }).minLength).toBe(20);
  });

  it('ASVS 2.1.10 / NIST SP 800-63B: the settings page explains why history and expiry are off', () => {
    for (const text of [PASSWORD_HISTORY_EXPLANATION, PASSWORD_EXPIRY_EXPLANATION]) {
      expect(text).toContain('ASVS 2.1.10');
      expect(text).toContain('NIST SP 800-63B');
      expect(text).toMatch(/^Off by default/);
    }
  });
});

describe('checkPassword', () => {
  it('ASVS 2.1.1: refuses fewer than 12 characters by default, accepts 12', () => {
    expect(codes(DEFAULT_PASSWORD_POLICY, 'tulip-kayak')).toEqual(['TOO_SHORT']);
    expect(codes(DEFAULT_PASSWORD_POLICY, 'tulip-kayak7')).toEqual([]);
  });

  it('ASVS 2.1.1: counts runs of spaces once and characters as code points', () => {
    expect(codes(DEFAULT_PASSWORD_POLICY, 'tulip    kayaks')).toEqual([]);
    expect(codes(DEFAULT_PASSWORD_POLICY, 'tulip     kay')).toEqual(['TOO_SHORT']);
    expect(codes(DEFAULT_PASSWORD_POLICY, '🦊🐙🌵🍋🚲🎻🧭🪁🦉🌋🍄⛵')).toEqual([]);
    expect(codes(DEFAULT_PASSWORD_POLICY, '🦊🐙🌵🍋🚲🎻')).toEqual(['TOO_SHORT']);
  });

  it('honours the tenant minimum length', () => {
    const policy = parsePasswordPolicy({ minLength: 20 });
    expect(codes(policy, 'tulip kayak lantern')).toEqual(['TOO_SHORT']);
    expect(codes(policy, 'tulip kayak lanterns')).toEqual([]);
  });

  it('ASVS 2.1.2 / 2.1.3: accepts passphrases of 64, 128 and 1024 characters; refuses 1025', () => {
    const phrase = (n: number): string => Array.from({ length: n }, (_, i) => 'walrus quilt mango '[i % 19]).join('');
    for (const n of [64, 128, 1024]) expect(codes(DEFAULT_PASSWORD_POLICY, phrase(n))).toEqual([]);
    expect(codes(DEFAULT_PASSWORD_POLICY, phrase(1025))).toEqual(['TOO_LONG']);
    expect(codes(DEFAULT_PASSWORD_POLICY, 'x'.repeat(100_000))).toEqual(['TOO_LONG']);
  });

  it.each([[''], [undefined]])('refuses the empty password %j', (password) => {
    expect(codes(DEFAULT_PASSWORD_POLICY, password as unknown as string)).toEqual(['EMPTY']);
  });

  it('ASVS 2.1.7: ships a blocklist of thousands of common passwords (lower case, NFKC, unique)', () => {
    expect(COMMON_PASSWORDS.length).toBeGreaterThan(5000);
    expect(new Set(COMMON_PASSWORDS).size).toBe(COMMON_PASSWORDS.length);
    expect(COMMON_PASSWORDS.every((p) => p === p.toLowerCase() && p === p.normalize('NFKC') && [...p].length >= 8)).toBe(true);
  });

  it.each([
    ['password'],
    ['PASSWORD'],
    ['Password'],
    ['qwertyuiop'],
    ['QwErTyUiOp'],
    ['iloveyou'],
    ['1qaz2wsx'],
    ['Password123!'],
    ['!!trustno1!!'],
    ['2024Baseball'],
    ['ｐａｓｓｗｏｒｄ'],
  ])('ASVS 2.1.7 / NIST SP 800-63B: refuses the common password %j in any case', (password) => {
    expect(codes(policy8, password)).toContain('COMMON');
    expect(isCommonPassword(password)).toBe(true);
  });

  it.each([['lantern walrus quilt'], ['Gx7#vQ2!mW9z'], ['password manager generated me: h5Kq']])('ASVS 2.1.7: does not flag %j', (password) => {
    expect(codes(DEFAULT_PASSWORD_POLICY, password)).not.toContain('COMMON');
  });

  it.each([
    ['email local part', 'JaneSmith-loves-kayaks', { email: 'janesmith@example.com' }, 'janesmith'],
    ['part of the email local part', 'kayak-smith-lantern', { email: 'jane.smith@example.com' }, 'smith'],
    ['tenant id', 'my-acme-support-pass', { tenantId: 'acme-support' }, 'acmesupport'],
    ['tenant name', 'Contoso Ltd rocks 2024', { tenantName: 'Contoso Ltd' }, 'contosoltd'],
    ['display name', 'kayaks and Okonkwo forever', { displayName: 'Chidi Okonkwo' }, 'okonkwo'],
    ['service name', 'my Retention portal key', {}, 'retention'],
  ])('NIST SP 800-63B context words: refuses a password containing the %s', (_what, password, context, term) => {
    const problems = checkPassword(DEFAULT_PASSWORD_POLICY, password, context);
    expect(problems.map((p) => p.code)).toContain('CONTAINS_CONTEXT');
    expect(problems.find((p) => p.code === 'CONTAINS_CONTEXT')?.message).toContain(`"${term}"`);
  });

  it("refuses the tenant's own blocked words and ignores context terms under four characters", () => {
    const policy = parsePasswordPolicy({ blockedWords: ['Widgetron'] });
    expect(codes(policy, 'my widgetron 3000 pass')).toEqual(['CONTAINS_CONTEXT']);
    expect(codes(DEFAULT_PASSWORD_POLICY, 'jo and the kayak lantern', { email: 'jo@x.example', tenantId: 'abc' })).toEqual([]);
  });

  it.each([['aaaaaaaaaaaa'], ['abababababab'], ['abcabcabcabc'], ['abcdefghijklmn'], ['zyxwvutsrqponm'], ['111111111111']])(
    'NIST SP 800-63B: refuses the repetitive or sequential %j',
    (password) => {
      expect(codes(DEFAULT_PASSWORD_POLICY, password)).toContain('REPETITIVE');
    },
  );

  it.each([['correct horse battery staple'], ['739204618375'], ['ALLCAPSPASSPHRASE'], ['nouppercasenodigits']])(
    'ASVS 2.1.9: no composition rules, %j is accepted',
    (password) => {
      expect(codes(DEFAULT_PASSWORD_POLICY, password)).toEqual([]);
    },
  );

  it('reports every problem at once', () => {
    expect(codes(DEFAULT_PASSWORD_POLICY, 'Acme1234', { tenantId: 'acme' })).toEqual(['TOO_SHORT', 'CONTAINS_CONTEXT']);
  });
});

describe('password history (opt-in)', () => {
  it('ASVS 2.1.10: is off by default, so even the current password is not refused', async () => {
    const current = await hashPassword('lantern walrus quilt');
    expect(await checkPasswordReuse(DEFAULT_PASSWORD_POLICY, 'lantern walrus quilt', [current])).toEqual([]);
    expect(nextPasswordHistory(DEFAULT_PASSWORD_POLICY, [current], 'new-hash')).toEqual([]);
  });

  it('refuses the last N passwords when turned on, and only those', async () => {
    const policy = parsePasswordPolicy({ passwordHistory: 2 });
    const hashes = [await hashPassword('third password x'), await hashPassword('second password x'), await hashPassword('first password x')];
    expect((await checkPasswordReuse(policy, 'third password x', hashes)).map((p) => p.code)).toEqual(['REUSED']);
    expect((await checkPasswordReuse(policy, 'second password x', hashes)).map((p) => p.code)).toEqual(['REUSED']);
    expect(await checkPasswordReuse(policy, 'first password x', hashes)).toEqual([]);
    expect(nextPasswordHistory(policy, ['b', 'a'], 'c')).toEqual(['c', 'b']);
  });
});

describe('password expiry (opt-in)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ASVS 2.1.10 / NIST SP 800-63B: never expires by default', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2036-01-01T00:00:00Z'));
    expect(isPasswordExpired(DEFAULT_PASSWORD_POLICY, new Date('2026-01-01T00:00:00Z'))).toBe(false);
  });

  it('expires after expiryDays when turned on', () => {
    const policy = parsePasswordPolicy({ expiryDays: 90 });
    const changedAt = new Date('2026-01-01T00:00:00Z');
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-03-31T23:59:59Z'));
    expect(isPasswordExpired(policy, changedAt)).toBe(false);
    vi.setSystemTime(new Date('2026-04-01T00:00:00Z'));
    expect(isPasswordExpired(policy, changedAt)).toBe(true);
  });
});
