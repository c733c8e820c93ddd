import { z } from 'zod';
import { RetentionError } from '../errors.js';
import { acceptsWholeNumber, describeRefusedValue } from '../validation/refused-value.js';
import { COMMON_PASSWORDS } from './common-passwords.js';
import { countCodePoints, MAX_PASSWORD_LENGTH, verifyPassword } from './password-hashing.js';

/**
 * A tenant's password policy, validated by {@link passwordPolicySchema}. There are deliberately no composition rules
 * ("one digit, one symbol…"): ASVS 2.1.9 and NIST SP 800-63B advise against them; length and a blocklist work better.
 */
export const passwordPolicySchema = z.strictObject({
  /** Minimum length in characters (code points, runs of spaces counted once). Default 12 (ASVS 2.1.1); 8 to 128. */
  minLength: z.number().int().min(8).max(128).default(12),
  /** Extra words the tenant forbids in passwords (its products, its city…), matched like the tenant's name. */
  blockedWords: z.array(z.string().trim().min(4).max(64)).max(200).default([]),
  /** Consecutive failed sign-ins that lock an account. Default 10; 3 to 100 (NIST SP 800-63B: at most 100). */
  lockoutThreshold: z.number().int().min(3).max(100).default(10),
  /** How long a locked account stays locked, in minutes. Default 15; 1 to 1440. */
  lockoutMinutes: z.number().int().min(1).max(1440).default(15),
  /** Refuse the last N passwords again. Default 0 = off; see {@link PASSWORD_HISTORY_EXPLANATION}. 0 to 24. */
  passwordHistory: z.number().int().min(0).max(24).default(0),
  /** Force a change after N days. Default 0 = off; see {@link PASSWORD_EXPIRY_EXPLANATION}. 0 to 3650. */
  expiryDays: z.number().int().min(0).max(3650).default(0),
});

/** A validated password policy (every field present). */
export type PasswordPolicy = z.infer<typeof passwordPolicySchema>;

/** The policy of a tenant that has not changed anything. */
export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze(passwordPolicySchema.parse({}));

/** Why password history is off by default: shown next to the setting. */
export const PASSWORD_HISTORY_EXPLANATION =
  'Off by default. OWASP ASVS 2.1.10 and NIST SP 800-63B advise against password history and rotation rules: ' +
  'they push people towards predictable variations (Summer2024! → Autumn2024!) without stopping attackers. ' +
  'Turn it on only if a regulation you are bound by requires it.';

/** Why password expiry is off by default: shown next to the setting. */
export const PASSWORD_EXPIRY_EXPLANATION =
  'Off by default. NIST SP 800-63B says verifiers should not require periodic password changes, and OWASP ASVS 2.1.10 ' +
  'forbids rotation requirements: forced changes lead to weaker, predictable passwords. A password is changed when ' +
  'there is evidence it was compromised. Turn expiry on only if a regulation you are bound by requires it.';

/** The lowest minimum length a tenant may choose unless the operator lowers it (`PASSWORD_MIN_LENGTH_FLOOR`, ASVS 2.1.1). */
export const DEFAULT_MIN_LENGTH_FLOOR = 12;

/** How a policy is read or written: the operator's floor under `minLength` (8 to 12; default 12). */
export interface PasswordPolicyLimits {
  minLengthFloor?: number;
}

/** The policy's number fields as the Security page names them, with their ranges (`minLength` from the floor). */
const POLICY_NUMBER_FIELDS: Readonly<Record<string, { label: string; min: number; max: number }>> = {
  minLength: { label: 'Minimum length', min: 8, max: 128 },
  lockoutThreshold: { label: 'Failed sign-ins before a lock', min: 3, max: 100 },
  lockoutMinutes: { label: 'Minutes an account stays locked', min: 1, max: 1440 },
  passwordHistory: { label: 'Passwords refused again', min: 0, max: 24 },
  expiryDays: { label: 'Days before a password expires', min: 0, max: 3650 },
};

/** What is wrong with the policy's `field` as typed, and what is accepted (the field is named for the API and CLI too). */
function policyProblem(field: PropertyKey | undefined, input: unknown, floor: number): string {
  const typed = typeof input === 'object' && input !== null && typeof field === 'string' ? (input as Record<string, unknown>)[field] : undefined;
  const number = typeof field === 'string' ? POLICY_NUMBER_FIELDS[field] : undefined;
  if (number !== undefined) {
    const min = field === 'minLength' ? floor : number.min;
    return `${number.label} (${String(field)}): ${describeRefusedValue(typed, acceptsWholeNumber(min, number.max))}`;
  }
  if (field === 'blockedWords') return 'Blocked words (blockedWords): each word needs 4 to 64 characters, one per line, at most 200 words.';
  return `The password policy has no setting "${String(field ?? '')}": the settings are ${[...Object.keys(POLICY_NUMBER_FIELDS), 'blockedWords'].join(', ')}.`;
}

/**
 * Validates policy settings (from the settings form), filling defaults. A `minLength` under the operator's floor
 * (`limits.minLengthFloor`, default 12) is refused. Throws `ERR_PASSWORD_POLICY_INVALID` naming the first field at
 * fault and the allowed range.
 *
 * @example
 * const policy = parsePasswordPolicy({ minLength: 14 }); // lockoutThreshold 10, lockoutMinutes 15, …
 * parsePasswordPolicy({ minLength: 8 });                  // throws: at least 12 unless PASSWORD_MIN_LENGTH_FLOOR is lower
 */
export function parsePasswordPolicy(input: unknown, limits: PasswordPolicyLimits = {}): PasswordPolicy {
  const floor = limits.minLengthFloor ?? DEFAULT_MIN_LENGTH_FLOOR;
  const result = passwordPolicySchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path[0];
    throw new RetentionError('ERR_PASSWORD_POLICY_INVALID', policyProblem(field, input, floor));
  }
  if (result.data.minLength < floor) {
    throw new RetentionError(
      'ERR_PASSWORD_POLICY_INVALID',
      `Minimum length (minLength): "${result.data.minLength}" is too short; it must be at least ${floor} characters (ASVS 2.1.1). Only the operator can lower this floor, with PASSWORD_MIN_LENGTH_FLOOR.`,
    );
  }
  return result.data;
}

/**
 * A stored policy as it applies today: validated like {@link parsePasswordPolicy}, but a `minLength` under the
 * operator's current floor (stored before the floor was raised) is raised to the floor instead of refused.
 */
export function storedPasswordPolicy(input: unknown, limits: PasswordPolicyLimits = {}): PasswordPolicy {
  const floor = limits.minLengthFloor ?? DEFAULT_MIN_LENGTH_FLOOR;
  const policy = parsePasswordPolicy(input, { minLengthFloor: 8 });
  return policy.minLength >= floor ? policy : { ...policy, minLength: floor };
}

/** Codes of {@link PasswordProblem}s, stable for the UI and tests. */
export type PasswordProblemCode = 'EMPTY' | 'TOO_SHORT' | 'TOO_LONG' | 'COMMON' | 'CONTAINS_CONTEXT' | 'REPETITIVE' | 'REUSED';

/** One reason a password is refused, with a message to show the person choosing it. */
export interface PasswordProblem {
  code: PasswordProblemCode;
  message: string;
}

/** Who is choosing the password, so passwords made of their own names can be refused (NIST: context-specific words). */
export interface PasswordContext {
  email?: string;
  displayName?: string;
  tenantId?: string;
  tenantName?: string;
}

/** Context terms shorter than this are ignored (too many false positives). */
const MIN_CONTEXT_TERM = 4;
const SERVICE_NAME = 'retention';

let commonPasswords: ReadonlySet<string> | undefined;

/** True when `password` (any case) is on the shipped list of common passwords. */
export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(COMMON_PASSWORDS);
  const lower = password.normalize('NFKC').toLowerCase();
  if (commonPasswords.has(lower)) return true;
  const withoutSymbols = lower.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  const withoutDigitsOrSymbols = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  return commonPasswords.has(withoutSymbols) || commonPasswords.has(withoutDigitsOrSymbols);
}

const compact = (text: string): string =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');

/**
 * The words {@link checkPassword} refuses inside a password (`CONTAINS_CONTEXT`): the service name, the policy's
 * `blockedWords`, the email address's local part and its pieces, the display name and its words, the tenant id and
 * name; lower case, NFKC, without spaces or punctuation, each of four or more characters. The strength meter of the
 * password forms receives them so that it can say what the server will say.
 *
 * @example
 * passwordContextTerms(policy, { email: 'jo.smith@acme.example', tenantId: 'acme' }) // ['retention', 'josmith', 'smith', 'acme']
 */
export function passwordContextTerms(policy: PasswordPolicy, context: PasswordContext): string[] {
  const terms = [SERVICE_NAME, ...policy.blockedWords];
  if (context.email !== undefined) {
    const local = context.email.split('@')[0] ?? '';
    terms.push(local, ...local.split(/[._+-]/));
  }
  if (context.displayName !== undefined) terms.push(context.displayName, ...context.displayName.split(/\s+/));
  if (context.tenantId !== undefined) terms.push(context.tenantId);
  if (context.tenantName !== undefined) terms.push(context.tenantName);
  return [...new Set(terms.map(compact))].filter((term) => countCodePoints(term) >= MIN_CONTEXT_TERM);
}

function isRepetitive(password: string): boolean {
  const codePoints = [...password].map((c) => c.codePointAt(0) ?? 0);
  if (new Set(codePoints).size < 4) return true;
  const step = (codePoints[1] ?? 0) - (codePoints[0] ?? 0);
  return Math.abs(step) <= 1 && codePoints.every((cp, i) => i === 0 || cp - (codePoints[i - 1] ?? 0) === step);
}

/**
 * Checks a new password against the policy and returns every problem found (an empty list means acceptable):
 * - `TOO_SHORT` under `policy.minLength` characters (code points after NFKC, runs of spaces counted once; ASVS 2.1.1),
 *   `TOO_LONG` over {@link MAX_PASSWORD_LENGTH} (so at least 128 are always accepted, ASVS 2.1.2), `EMPTY`;
 * - `COMMON`: on the list of common passwords in any case, also with digits and symbols around a listed word
 *   (ASVS 2.1.7, NIST SP 800-63B blocklist);
 * - `CONTAINS_CONTEXT`: contains, ignoring case, spaces and punctuation, a term of four or more characters from the
 *   email address, display name, tenant id or name, the tenant's `blockedWords`, or the service name;
 * - `REPETITIVE`: fewer than four different characters, or a run like `abcdefgh…`/`98765…`.
 *
 * No composition rules (ASVS 2.1.9). Password history is checked separately ({@link checkPasswordReuse}: it is slow).
 *
 * @example
 * checkPassword(policy, 'Acme2024!Acme2024!', { tenantId: 'acme', email: 'jo@acme.example' })
 * // [{ code: 'CONTAINS_CONTEXT', message: 'Choose a password that does not contain "acme"…' }]
 */
export function checkPassword(policy: PasswordPolicy, password: string, context: PasswordContext = {}): PasswordProblem[] {
  if (typeof password !== 'string' || password === '') return [{ code: 'EMPTY', message: 'Enter a password.' }];
  const normalized = password.length > MAX_PASSWORD_LENGTH * 4 ? password : password.normalize('NFKC');
  const length = countCodePoints(normalized.replace(/ {2,}/g, ' '));
  if (countCodePoints(normalized) > MAX_PASSWORD_LENGTH) {
    return [{ code: 'TOO_LONG', message: `Choose a password of at most ${MAX_PASSWORD_LENGTH} characters.` }];
  }
  const problems: PasswordProblem[] = [];
  if (length < policy.minLength) {
    problems.push({ code: 'TOO_SHORT', message: `Choose a password of at least ${policy.minLength} characters; a few unrelated words make a good one.` });
  }
  if (isCommonPassword(normalized)) {
    problems.push({ code: 'COMMON', message: 'This password is on a list of commonly used passwords that attackers try first; choose another.' });
  }
  const compacted = compact(normalized);
  const term = passwordContextTerms(policy, context).find((t) => compacted.includes(t));
  if (term !== undefined) {
    problems.push({
      code: 'CONTAINS_CONTEXT',
      message: `Choose a password that does not contain "${term}": names of you, your company or this service are guessed first.`,
    });
  }
  if (isRepetitive(normalized)) {
    problems.push({ code: 'REPETITIVE', message: 'Choose a password that is not made of repeated or consecutive characters.' });
  }
  return problems;
}

/**
 * Password history (opt-in, off by default — {@link PASSWORD_HISTORY_EXPLANATION}): resolves to a `REUSED` problem
 * when `password` matches one of the first `policy.passwordHistory` hashes of `recentHashes` (newest first, the
 * current password's hash included), else to an empty list. With history off it resolves to `[]` without hashing.
 *
 * @example
 * problems.push(...(await checkPasswordReuse(policy, newPassword, user.passwordHistory)));
 */
export async function checkPasswordReuse(policy: PasswordPolicy, password: string, recentHashes: readonly string[]): Promise<PasswordProblem[]> {
  for (const storedHash of recentHashes.slice(0, policy.passwordHistory)) {
    if (await verifyPassword(storedHash, password)) {
      return [{ code: 'REUSED', message: `Choose a password you have not used for your last ${policy.passwordHistory} passwords.` }];
    }
  }
  return [];
}

/**
 * The history to store after a password change: `newHash` in front of `recentHashes`, cut to
 * `policy.passwordHistory` entries (empty when history is off, so no old hashes are kept for nothing).
 *
 * @example
 * await users.setPassword(tenantId, userId, newHash, nextPasswordHistory(policy, user.passwordHistory, newHash));
 */
export function nextPasswordHistory(policy: PasswordPolicy, recentHashes: readonly string[], newHash: string): string[] {
  return [newHash, ...recentHashes].slice(0, policy.passwordHistory);
}

/**
 * True when expiry is on (`policy.expiryDays > 0`, off by default — {@link PASSWORD_EXPIRY_EXPLANATION}) and the
 * password was last changed `expiryDays` or more days before `now`.
 *
 * @example
 * if (isPasswordExpired(policy, user.passwordChangedAt)) return redirect('/account/password?expired=1');
 */
export function isPasswordExpired(policy: PasswordPolicy, changedAt: Date, now: Date = new Date()): boolean {
  if (policy.expiryDays === 0) return false;
  return now.getTime() - changedAt.getTime() >= policy.expiryDays * 86_400_000;
}
