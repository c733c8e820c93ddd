import { argon2id, hash, needsRehash as argon2NeedsRehash, verify } from 'argon2';
import { RetentionError } from '../errors.js';

/**
 * Argon2id cost parameters: t = 2 passes over m = 19 MiB with p = 1 lane (OWASP ASVS 5.0 appendix, OWASP Password
 * Storage Cheat Sheet), a 32-byte tag and a 16-byte random salt per hash (argon2's default).
 * Raising any of them makes {@link needsRehash} true for older hashes, so they are upgraded at the next sign-in.
 */
export const PASSWORD_HASH_PARAMETERS = Object.freeze({
  timeCost: 2,
  memoryCost: 19_456,
  parallelism: 1,
  hashLength: 32,
});

/**
 * The longest password accepted, in Unicode code points after NFKC normalisation. Far above what ASVS 2.1.2 asks
 * (≥ 64 allowed, at least 128 accepted here) and low enough that hashing cannot be used for denial of service.
 */
export const MAX_PASSWORD_LENGTH = 1024;

/** Input longer than this (UTF-16 units, before normalisation) is refused without normalising it. */
const MAX_RAW_LENGTH = MAX_PASSWORD_LENGTH * 4;

const ARGON2ID_PREFIX = '$argon2id$';

/** Number of Unicode code points in `text` (what a person counts as characters, near enough). */
export function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * Normalises a password before it is hashed, verified or checked against a policy: Unicode NFKC (NIST SP 800-63B
 * 5.1.1.2), so the same password typed on another keyboard or platform (composed "é" vs "e" + combining accent,
 * full-width digits) gives the same hash. Nothing is trimmed, lower-cased or truncated (ASVS 2.1.3): every
 * character, including spaces, counts.
 *
 * Throws `ERR_PASSWORD_INVALID` for a non-string or an empty password and `ERR_PASSWORD_TOO_LONG` beyond
 * {@link MAX_PASSWORD_LENGTH} code points.
 *
 * @example
 * normalizePassword('ｐａｓｓ ｗｏｒｄ') // 'pass word'
 */
export function normalizePassword(password: string): string {
  if (typeof password !== 'string' || password === '') {
    throw new RetentionError('ERR_PASSWORD_INVALID', 'a password is required: enter one');
  }
  const tooLong = (): RetentionError =>
    new RetentionError('ERR_PASSWORD_TOO_LONG', `passwords may have at most ${MAX_PASSWORD_LENGTH} characters: choose a shorter one`);
  if (password.length > MAX_RAW_LENGTH) throw tooLong();
  const normalized = password.normalize('NFKC');
  if (countCodePoints(normalized) > MAX_PASSWORD_LENGTH) throw tooLong();
  return normalized;
}

/**
 * Hashes a password with argon2id ({@link PASSWORD_HASH_PARAMETERS}) after {@link normalizePassword}.
 * Returns the PHC string (`$argon2id$v=19$m=19456,p=1,t=2$<salt>$<tag>`), which carries the salt and parameters
 * and is all that needs storing. Runs on libuv's thread pool (about 20–50 ms, 19 MiB of memory).
 *
 * Does not judge the password: check it against the tenant's policy first (`checkPassword`).
 *
 * @example
 * const passwordHash = await hashPassword('correct horse battery staple');
 * await users.setPasswordHash(tenantId, userId, passwordHash);
 */
export async function hashPassword(password: string): Promise<string> {
  return hash(normalizePassword(password), { type: argon2id, ...PASSWORD_HASH_PARAMETERS });
}

/**
 * True when `password` matches `storedHash` (a PHC string from {@link hashPassword}, or from older parameters).
 * The comparison of the tags is constant-time (done by argon2). An empty or over-long password is simply not a
 * match. Throws `ERR_PASSWORD_HASH_INVALID` when `storedHash` is not an argon2 PHC string: that is corrupt data,
 * not a wrong password.
 *
 * After a successful verification, call {@link needsRehash} and store a fresh hash if it says so.
 *
 * @example
 * if (!(await verifyPassword(user.passwordHash, submitted))) return refuseSignIn();
 */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  if (typeof storedHash !== 'string' || !storedHash.startsWith('$argon2')) {
    throw new RetentionError('ERR_PASSWORD_HASH_INVALID', 'the stored password hash is not an argon2 hash: reset the password of this account');
  }
  let normalized: string;
  try {
    normalized = normalizePassword(password);
  } catch (err) {
    if (err instanceof RetentionError) return false;
    throw err;
  }
  try {
    return await verify(storedHash, normalized);
  } catch (err) {
    throw new RetentionError('ERR_PASSWORD_HASH_INVALID', 'the stored password hash could not be read: reset the password of this account', { cause: err });
  }
}

let unknownAccountHash: Promise<string> | undefined;

/**
 * Spends the same time as {@link verifyPassword} and always answers false: call it when the account does not exist,
 * so the response time does not tell an attacker which email addresses have accounts (no account enumeration).
 *
 * @example
 * const ok = user ? await verifyPassword(user.passwordHash, password) : await verifyPasswordForUnknownAccount(password);
 */
export async function verifyPasswordForUnknownAccount(password: string): Promise<false> {
  unknownAccountHash ??= hashPassword('retention: no such account');
  await verifyPassword(await unknownAccountHash, password);
  return false;
}

/**
 * True when `storedHash` was made with another algorithm or with parameters other than
 * {@link PASSWORD_HASH_PARAMETERS}: hash the password again (it is at hand right after a successful sign-in).
 *
 * @example
 * if (needsRehash(user.passwordHash)) await users.setPasswordHash(tenantId, user.id, await hashPassword(password));
 */
export function needsRehash(storedHash: string): boolean {
  if (typeof storedHash !== 'string' || !storedHash.startsWith(ARGON2ID_PREFIX)) return true;
  try {
    const { timeCost, memoryCost, parallelism } = PASSWORD_HASH_PARAMETERS;
    return argon2NeedsRehash(storedHash, { timeCost, memoryCost, parallelism });
  } catch {
    return true;
  }
}
