import { randomBytes } from 'node:crypto';
import { RetentionError } from '../errors.js';
import { hashPassword, verifyPassword } from './password-hashing.js';

/** How many backup codes a user gets at a time. */
export const BACKUP_CODE_COUNT = 10;

/**
 * Crockford's Base32 alphabet: digits and upper-case letters without I, L, O and U, so codes read aloud or typed
 * from paper are unambiguous. 32 symbols = 5 bits each.
 */
export const BACKUP_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Symbols per code: 10 × 5 = 50 bits of entropy (ASVS 2.6.2 and NIST SP 800-63B ask for at least 20). */
export const BACKUP_CODE_LENGTH = 10;

/** Bits of entropy of one code. */
export const BACKUP_CODE_BITS = BACKUP_CODE_LENGTH * 5;

const LOOK_ALIKES: Record<string, string> = { I: '1', L: '1', O: '0' };

/**
 * `count` new backup codes from the CSPRNG (ASVS 5.0 6.5.3), each {@link BACKUP_CODE_LENGTH} symbols of
 * {@link BACKUP_CODE_ALPHABET} shown as two groups of five: `7KQ2M-X9D4T`. Show them once, then keep only
 * {@link hashBackupCodes} of them.
 *
 * @example
 * const codes = generateBackupCodes(); // ['7KQ2M-X9D4T', …] (10 codes)
 */
export function generateBackupCodes(count = BACKUP_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(BACKUP_CODE_LENGTH);
    const symbols = [...bytes].map((byte) => BACKUP_CODE_ALPHABET[byte & 31]).join('');
    return `${symbols.slice(0, 5)}-${symbols.slice(5)}`;
  });
}

/**
 * The canonical form of a code as a person types it: spaces and dashes dropped, upper case, and the look-alikes
 * I and L read as 1, O as 0. Undefined when the result is not {@link BACKUP_CODE_LENGTH} symbols of the alphabet.
 *
 * @example
 * normalizeBackupCode(' 7kq2m x9d4t ') // '7KQ2MX9D4T'
 * normalizeBackupCode('7KQ2M-X9D4')    // undefined
 */
export function normalizeBackupCode(input: string): string | undefined {
  if (typeof input !== 'string' || input.length > 64) return undefined;
  const canonical = [...input.replace(/[\s\-\u2010-\u2015\u2212]/g, '').toUpperCase()].map((c) => LOOK_ALIKES[c] ?? c).join('');
  if (canonical.length !== BACKUP_CODE_LENGTH) return undefined;
  return [...canonical].every((c) => BACKUP_CODE_ALPHABET.includes(c)) ? canonical : undefined;
}

/**
 * Hashes codes for storage with argon2id, the password hash (ASVS 2.6.3; ASVS 5.0 6.5.2 requires a password hash for
 * secrets under 112 bits), one salted hash per code, in the same order.
 *
 * @example
 * await users.setBackupCodes(tenantId, userId, await hashBackupCodes(codes));
 */
export async function hashBackupCodes(codes: readonly string[]): Promise<string[]> {
  const hashes: string[] = [];
  for (const code of codes) {
    const canonical = normalizeBackupCode(code);
    if (canonical === undefined) {
      throw new RetentionError('ERR_BACKUP_CODE_INVALID', 'hashBackupCodes was given a value that is not a backup code: pass the codes of generateBackupCodes');
    }
    hashes.push(await hashPassword(canonical));
  }
  return hashes;
}

/** The stored hash that a typed code matched: remove exactly that one. */
export interface BackupCodeMatch {
  index: number;
  hash: string;
}

/**
 * Finds which of the user's remaining hashed codes `input` is. Undefined for no match or a malformed input (which
 * costs no hashing). The caller then consumes it atomically, so the code works once even under concurrent requests
 * (ASVS 2.6.1, 5.0 6.5.1), e.g. with MongoDB:
 * `updateOne({ _id: userId, backupCodeHashes: match.hash }, { $pull: { backupCodeHashes: match.hash } })` and
 * accept the sign-in only if `modifiedCount === 1`.
 *
 * @example
 * const match = await verifyBackupCode(user.backupCodeHashes, form.code);
 * if (!match || !(await users.removeBackupCode(tenantId, user.id, match.hash))) return refuse();
 */
export async function verifyBackupCode(storedHashes: readonly string[], input: string): Promise<BackupCodeMatch | undefined> {
  const canonical = normalizeBackupCode(input);
  if (canonical === undefined) return undefined;
  for (const [index, hash] of storedHashes.entries()) {
    if (await verifyPassword(hash, canonical)) return { index, hash };
  }
  return undefined;
}
