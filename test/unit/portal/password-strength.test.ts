import { describe, expect, it } from 'vitest';
import { checkPassword, parsePasswordPolicy, passwordContextTerms, type PasswordContext } from '../../../src/auth/password-policy.js';
import { COMMON_PASSWORD_FILTER } from '../../../views/assets/common-password-filter.js';
import { assessPassword, contextTermsOf, decodeCommonPasswordFilter, estimateEntropyBits, passwordLength } from '../../../views/assets/password-strength.js';

const commonPasswords = decodeCommonPasswordFilter(COMMON_PASSWORD_FILTER);
const policy = parsePasswordPolicy({ minLength: 14, blockedWords: ['pelican', 'Harbour City'] });
const context: PasswordContext = { email: 'olga.owner@acme.example', displayName: 'Olga Owner', tenantId: 'acme', tenantName: 'Acme Support' };
const meterPolicy = { minLength: policy.minLength, contextTerms: passwordContextTerms(policy, context), commonPasswords };
const assess = (password: string) => assessPassword(password, meterPolicy);

describe('password strength meter (views/assets/password-strength.js)', () => {
  it.each([
    ['passwordpassword', 'COMMON'],
    ['Password1234!', 'COMMON'],
    ['P@ssw0rd2024!!', 'COMMON'],
    ['1qaz2wsx3edc4rfv', 'COMMON'],
    ['hunter2', 'TOO_SHORT'],
    ['aaaaaaaaaaaaaaaa', 'REPETITIVE'],
    ['abcdefghijklmnop', 'REPETITIVE'],
    ['my-pelican-is-on-fire', 'CONTAINS_CONTEXT'],
    ['harbourcity-lantern-orbit', 'CONTAINS_CONTEXT'],
    ['olga-ferry-lantern-orbit', 'CONTAINS_CONTEXT'],
    ['acme-support-lantern-orbit', 'CONTAINS_CONTEXT'],
    ['my retention password is long', 'CONTAINS_CONTEXT'],
    ['x'.repeat(1025), 'TOO_LONG'],
  ])('ASVS 2.1.8: %j is not accepted (%s), scored 0', (password, code) => {
    const result = assess(password);
    expect(result.accepted).toBe(false);
    expect(result.score).toBe(0);
    expect(result.problems.map((p) => p.code)).toContain(code);
  });

  it('ASVS 2.1.8: a too-short password is told the minimum length of the tenant policy', () => {
    const result = assess('lantern orbit');
    expect(result.label).toBe('Too short');
    expect(result.message).toContain('at least 14 characters (13 so far)');
    expect(assessPassword('lantern orbit', { ...meterPolicy, minLength: 8 }).accepted).toBe(true);
  });

  it.each([
    ['correct horse battery staple', 4],
    ['granite-pelican-saffron-tunnel'.replace('pelican', 'heron'), 4],
    ['k7#Vq9!mZ2pL&w', 4],
    ['CorrectHorseBatteryStaple', 3],
    ['zebra lantern orbit', 2],
    ['Tr0ub4dor&3xyz', 2],
    ['sunflowergarden', 1],
    ['Summer2024!Summer2024!', 1],
    ['qwertyuiopasdfgh', 1],
  ])('ASVS 2.1.8: %j is accepted with score %i', (password, score) => {
    const result = assess(password);
    expect(result.problems).toEqual([]);
    expect(result.accepted).toBe(true);
    expect(result.score).toBe(score);
  });

  it.each([
    ['a repeated part', 'lantern-orbit7', 'lantern-orbit7lantern-orbit7'],
    ['a keyboard walk', 'zebra lantern', 'zebra lanternqwertyuiop'],
    ['a sequence', 'zebra lantern', 'zebra lantern123456789'],
    ['a year', 'zebra lantern', 'zebra lantern2024'],
    ['a look-alike', 'trombone', 'tr0mb0ne'],
  ])('counts %s as a few bits, not as random characters', (_case, base, longer) => {
    expect(estimateEntropyBits(longer) - estimateEntropyBits(base)).toBeLessThan(12);
  });

  it('rates random characters above words of the same length, and longer above shorter', () => {
    expect(estimateEntropyBits('k7#Vq9!mZ2pL')).toBeGreaterThan(estimateEntropyBits('lanternorbit'));
    expect(estimateEntropyBits('lantern orbit zebra ferry')).toBeGreaterThan(estimateEntropyBits('lantern orbit zebra'));
    expect(estimateEntropyBits('')).toBe(0);
  });

  it('ASVS 2.1.9: never asks for digits, symbols or capitals; its advice is length', () => {
    const samples = [
      'hunter2',
      'lantern orbit',
      'sunflowergarden',
      'zebra lantern orbit',
      'passwordpassword',
      'aaaaaaaaaaaaaa',
      'correct horse battery staple',
    ];
    for (const password of samples) {
      const result = assess(password);
      for (const text of [result.message, ...result.problems.map((p) => p.message)])
        expect(text).not.toMatch(/digit|number|symbol|special|capital|upper ?case|lower ?case/i);
    }
  });

  it.each([
    'hunter2',
    'passwordpassword',
    'Password1234!',
    'password1234',
    '!!qwerty123!!',
    'aaaaaaaaaaaaaaaa',
    'abcdefghijklmnop',
    '9876543210987',
    'my-pelican-is-on-fire',
    'olga-ferry-lantern-orbit',
    'Acme-Support-2024-lantern',
    'correct horse battery staple',
    'lantern    orbit zebra',
    'ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ',
    'x'.repeat(1025),
    'short',
    'Zeichenkette-für-Jörg',
  ])('names the problems the server names for %j (ASVS 2.1.1, 2.1.7)', (password) => {
    const server = checkPassword(policy, password, context).map((p) => p.code);
    expect(assess(password).problems.map((p) => p.code)).toEqual(server);
  });

  it('counts length as the server does: code points after NFKC, a run of spaces once', () => {
    expect(passwordLength('lantern    orbit')).toBe(13);
    expect(passwordLength('🦊🦊🦊')).toBe(3);
  });

  it.each([
    [{ email: 'olga.owner@acme.example', displayName: 'Olga Owner' }],
    [{ email: 'jo+support@example.com', displayName: 'Jo' }],
    [{ email: '', displayName: '' }],
  ])('reads context words typed into the form as the server derives them (%j)', (fields) => {
    const server = passwordContextTerms(parsePasswordPolicy({}), fields).filter((t) => t !== 'retention');
    expect(contextTermsOf(fields).sort()).toEqual(server.sort());
  });
});
