import { createHmac, randomBytes } from 'node:crypto';
import { RetentionError } from '../errors.js';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { decodeBase32, encodeBase32 } from './base32.js';

/** HMAC hash of HOTP/TOTP (RFC 6238 allows SHA-1, SHA-256 and SHA-512). */
export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** The parameters both sides of TOTP must agree on; they go into the `otpauth://` URI. */
export interface TotpParameters {
  /** Default `SHA1`: the only one every authenticator app supports. */
  algorithm: OtpAlgorithm;
  /** Code length, 6 to 8. Default 6. */
  digits: number;
  /** Time step in seconds. Default 30 (ASVS 5.0 6.5.5: a TOTP lives at most 30 s). */
  period: number;
}

/** What Google Authenticator and Microsoft Authenticator expect: SHA-1, 6 digits, 30 s (RFC 6238 defaults). */
export const DEFAULT_TOTP_PARAMETERS: Readonly<TotpParameters> = Object.freeze({ algorithm: 'SHA1', digits: 6, period: 30 });

/** Secret size: 160 bits, the length RFC 4226 recommends (and the HMAC-SHA-1 block output). */
export const TOTP_SECRET_BYTES = 20;

/** Secrets shorter than 128 bits are refused (RFC 4226 section 4, R6). */
const MIN_SECRET_BYTES = 16;
const MAX_WINDOW = 10;

/** A TOTP/HOTP secret: raw bytes, or their Base32 text as shown to the user. */
export type OtpSecret = Uint8Array | string;

const HMAC_NAMES: Record<OtpAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

function invalidParameters(message: string): RetentionError {
  return new RetentionError('ERR_TOTP_PARAMETERS_INVALID', message);
}

function resolveParameters(options: Partial<TotpParameters>): TotpParameters {
  const parameters = { ...DEFAULT_TOTP_PARAMETERS, ...definedOnly(options) };
  if (!(parameters.algorithm in HMAC_NAMES)) throw invalidParameters(`TOTP algorithm "${String(parameters.algorithm)}" is not one of SHA1, SHA256, SHA512`);
  if (!Number.isInteger(parameters.digits) || parameters.digits < 6 || parameters.digits > 8) {
    throw invalidParameters(`TOTP codes have 6 to 8 digits, not ${parameters.digits}`);
  }
  if (!Number.isInteger(parameters.period) || parameters.period < 1 || parameters.period > 300) {
    throw invalidParameters(`the TOTP period is 1 to 300 seconds (30 recommended), not ${parameters.period}`);
  }
  return parameters;
}

function definedOnly(options: Partial<TotpParameters>): Partial<TotpParameters> {
  return Object.fromEntries(Object.entries(options).filter(([key, value]) => value !== undefined && key in DEFAULT_TOTP_PARAMETERS));
}

function secretBytes(secret: OtpSecret): Buffer {
  const bytes = typeof secret === 'string' ? decodeBase32(secret) : Buffer.from(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RetentionError('ERR_TOTP_SECRET_INVALID', `a TOTP secret of ${bytes.length * 8} bits is too short: at least 128 bits are needed; enrol again`);
  }
  return bytes;
}

function timeMs(now: Date | number | undefined): number {
  if (now === undefined) return Date.now();
  return now instanceof Date ? now.getTime() : now;
}

/**
 * A new random TOTP secret of {@link TOTP_SECRET_BYTES} bytes from the CSPRNG (ASVS 5.0 6.5.3).
 * Store it sealed (`sealSecret`), never in the clear.
 *
 * @example
 * const secret = generateTotpSecret();
 * const key = encodeBase32(secret); // 32 characters for the otpauth URI and manual entry
 */
export function generateTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

/**
 * RFC 4226 HOTP: HMAC of the 8-byte big-endian counter, dynamic truncation, last `digits` decimal digits.
 *
 * @example
 * generateHotp(Buffer.from('12345678901234567890'), 1) // '287082'
 */
export function generateHotp(secret: OtpSecret, counter: number, options: Partial<Pick<TotpParameters, 'algorithm' | 'digits'>> = {}): string {
  const { algorithm, digits } = resolveParameters(options);
  if (!Number.isSafeInteger(counter) || counter < 0) throw invalidParameters(`the HOTP counter must be a non-negative integer, not ${counter}`);
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(HMAC_NAMES[algorithm], secretBytes(secret)).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = (((mac[offset] ?? 0) & 0x7f) << 24) | ((mac[offset + 1] ?? 0) << 16) | ((mac[offset + 2] ?? 0) << 8) | (mac[offset + 3] ?? 0);
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/**
 * The RFC 6238 time step (counter) of a moment: `floor(unixSeconds / period)`, with T0 = 0.
 *
 * @example
 * totpStepAt(new Date('2005-03-18T01:58:29Z')) // 37037036
 */
export function totpStepAt(now: Date | number, period = DEFAULT_TOTP_PARAMETERS.period): number {
  return Math.floor(timeMs(now) / 1000 / period);
}

/**
 * RFC 6238 TOTP: the HOTP of the current time step. `now` defaults to the clock (so `vi.setSystemTime` applies).
 *
 * @example
 * generateTotp(secret)                                           // '492039' (SHA-1, 6 digits, 30 s)
 * generateTotp(secret, { now: 59_000, digits: 8 })               // '94287082' for the RFC seed
 */
export function generateTotp(secret: OtpSecret, options: Partial<TotpParameters> & { now?: Date | number } = {}): string {
  const parameters = resolveParameters(options);
  return generateHotp(secret, totpStepAt(timeMs(options.now), parameters.period), parameters);
}

/** Options of {@link verifyTotp}. */
export interface VerifyTotpOptions extends Partial<TotpParameters> {
  /** The moment to verify at. Default: the clock. */
  now?: Date | number;
  /** Steps of drift accepted either side of the current one. Default 1 (±30 s); 0 to 10. */
  window?: number;
  /** The last step accepted for this user (stored by the caller); that step and earlier ones are refused. */
  lastUsedStep?: number | null;
}

/**
 * Outcome of {@link verifyTotp}. On success, store `step` as the user's `lastUsedStep` (atomically, only if greater
 * than the stored one) so the same code cannot be used again. A `replay` is a code that was valid but whose step was
 * already used: log it (ASVS 2.8.5), it may mean the code was observed.
 */
export type TotpVerification =
  { valid: true; step: number; drift: number } | { valid: false; reason: 'malformed' | 'mismatch' } | { valid: false; reason: 'replay'; step: number };

/**
 * Verifies a TOTP code typed by a user against the steps `current - window … current + window` and refuses any step
 * at or before `lastUsedStep` (ASVS 2.8.4, RFC 6238 section 5.2: a code is accepted once). Spaces in the code are
 * ignored; anything but `digits` decimal digits is `malformed`. Codes are compared in constant time.
 *
 * @example
 * const result = verifyTotp(secret, form.code, { lastUsedStep: user.totpLastStep });
 * if (!result.valid) return refuse(result.reason);
 * await users.setTotpLastStep(tenantId, user.id, result.step); // only if greater: refuse a concurrent replay
 */
export function verifyTotp(secret: OtpSecret, code: string, options: VerifyTotpOptions = {}): TotpVerification {
  const parameters = resolveParameters(options);
  const window = options.window ?? 1;
  if (!Number.isInteger(window) || window < 0 || window > MAX_WINDOW) throw invalidParameters(`the TOTP window is 0 to ${MAX_WINDOW} steps, not ${window}`);
  const typed = typeof code === 'string' ? code.replace(/\s/g, '') : '';
  if (!new RegExp(`^\\d{${parameters.digits}}$`).test(typed)) return { valid: false, reason: 'malformed' };
  const bytes = secretBytes(secret);
  const current = totpStepAt(timeMs(options.now), parameters.period);
  const lastUsed = options.lastUsedStep ?? -1;
  let replayedStep: number | undefined;
  const offsets = [0, ...Array.from({ length: window }, (_, i) => [-(i + 1), i + 1]).flat()];
  for (const offset of offsets) {
    const step = current + offset;
    if (step < 0 || !constantTimeEqual(generateHotp(bytes, step, parameters), typed)) continue;
    if (step > lastUsed) return { valid: true, step, drift: offset };
    replayedStep ??= step;
  }
  return replayedStep === undefined ? { valid: false, reason: 'mismatch' } : { valid: false, reason: 'replay', step: replayedStep };
}

/**
 * The Base32 key grouped in fours for typing it into an authenticator app by hand (Google and Microsoft
 * Authenticator accept it with or without the spaces).
 *
 * @example
 * formatTotpKeyForManualEntry(Buffer.from('12345678901234567890')) // 'GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ'
 */
export function formatTotpKeyForManualEntry(secret: OtpSecret): string {
  const key = typeof secret === 'string' ? encodeBase32(decodeBase32(secret)) : encodeBase32(secret);
  return key.match(/.{1,4}/g)?.join(' ') ?? '';
}

/** What {@link buildOtpauthUri} needs. */
export interface OtpauthUriInput extends Partial<TotpParameters> {
  secret: OtpSecret;
  /** Who issues the code, shown by the app: e.g. "Retention (acme)". No ":". */
  issuer: string;
  /** Whose code it is, shown by the app: usually the email address. No ":". */
  account: string;
}

/**
 * The `otpauth://totp/…` URI (Google Authenticator key-URI format) to render as a QR code: label `issuer:account`,
 * `secret` in unpadded Base32, `issuer`, `algorithm`, `digits`, `period`. Values are percent-encoded (spaces as
 * `%20`, which every app decodes; never `+`). Throws `ERR_TOTP_LABEL_INVALID` for an empty issuer or account or
 * one that contains `:`.
 *
 * @example
 * buildOtpauthUri({ secret, issuer: 'Retention (acme)', account: 'jo@acme.example' })
 * // 'otpauth://totp/Retention%20(acme):jo%40acme.example?secret=GEZD…&issuer=Retention%20(acme)&algorithm=SHA1&digits=6&period=30'
 */
export function buildOtpauthUri(input: OtpauthUriInput): string {
  const parameters = resolveParameters(input);
  for (const [name, value] of [
    ['issuer', input.issuer],
    ['account', input.account],
  ] as const) {
    if (typeof value !== 'string' || value.trim() === '' || value.includes(':') || value.length > 200) {
      throw new RetentionError('ERR_TOTP_LABEL_INVALID', `the TOTP ${name} must be 1 to 200 characters without ":"`);
    }
  }
  const key = encodeBase32(secretBytes(input.secret));
  const label = `${encodeURIComponent(input.issuer)}:${encodeURIComponent(input.account)}`;
  const query = [
    `secret=${key}`,
    `issuer=${encodeURIComponent(input.issuer)}`,
    `algorithm=${parameters.algorithm}`,
    `digits=${parameters.digits}`,
    `period=${parameters.period}`,
  ].join('&');
  return `otpauth://totp/${label}?${query}`;
}
