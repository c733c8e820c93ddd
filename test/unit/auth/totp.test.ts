import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeBase32, encodeBase32 } from '../../../src/auth/base32.js';
import {
  DEFAULT_TOTP_PARAMETERS,
  TOTP_SECRET_BYTES,
  buildOtpauthUri,
  formatTotpKeyForManualEntry,
  generateHotp,
  generateTotp,
  generateTotpSecret,
  totpStepAt,
  verifyTotp,
  type OtpAlgorithm,
} from '../../../src/auth/totp.js';
import { RetentionError } from '../../../src/errors.js';

const codeOf = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    if (err instanceof RetentionError) return err.code;
    throw err;
  }
  throw new Error('expected a RetentionError');
};

const SEEDS: Record<OtpAlgorithm, Buffer> = {
  SHA1: Buffer.from('12345678901234567890'),
  SHA256: Buffer.from('12345678901234567890123456789012'),
  SHA512: Buffer.from(`${'1234567890'.repeat(6)}1234`),
};

describe('Base32 (RFC 4648)', () => {
  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
    ['12345678901234567890', 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'],
  ])('RFC 4648 section 10: %j encodes as %j and back', (text, base32) => {
    expect(encodeBase32(Buffer.from(text))).toBe(base32);
    expect(decodeBase32(base32).toString()).toBe(text);
  });

  it('decodes as people type it: lower case, spaces, dashes, padding', () => {
    expect(decodeBase32('mzxw 6ytb-oi======').toString()).toBe('foobar');
  });

  it('round-trips random bytes of every length', () => {
    for (let length = 0; length < 70; length += 1) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + length) & 0xff));
      expect(decodeBase32(encodeBase32(bytes)).equals(bytes)).toBe(true);
    }
  });

  it.each([['M'], ['MZX'], ['MZXW6Y'], ['MZXW1YTB'], ['MZXW8YTB'], ['MZXW0YTB'], ['MZ!Q'], ['MZXÄ']])('refuses %j', (text) => {
    expect(codeOf(() => decodeBase32(text))).toBe('ERR_BASE32_INVALID');
  });
});

describe('HOTP (RFC 4226)', () => {
  it.each(['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'].map((code, counter) => [counter, code]))(
    'RFC 4226 appendix D: counter %i gives %s',
    (counter, code) => {
      expect(generateHotp(SEEDS.SHA1, counter)).toBe(code);
    },
  );
});

describe('TOTP (RFC 6238)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const vectors: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  const cases = vectors.flatMap(([time, sha1, sha256, sha512]) =>
    (
      [
        ['SHA1', sha1],
        ['SHA256', sha256],
        ['SHA512', sha512],
      ] as const
    ).map(([algorithm, code]) => [time, algorithm, code] as const),
  );

  it.each(cases)('RFC 6238 appendix B: at %i s, %s gives %s (8 digits)', (time, algorithm, code) => {
    vi.useFakeTimers();
    vi.setSystemTime(time * 1000);
    expect(generateTotp(SEEDS[algorithm], { algorithm, digits: 8 })).toBe(code);
    expect(verifyTotp(SEEDS[algorithm], code, { algorithm, digits: 8 })).toEqual({ valid: true, step: Math.floor(time / 30), drift: 0 });
  });

  it('RFC 6238: the SHA-1 seed is GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ in Base32 and works in that form', () => {
    expect(encodeBase32(SEEDS.SHA1)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(generateTotp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', { now: 59_000, digits: 8 })).toBe('94287082');
  });

  it('ASVS 5.0 6.5.5: defaults to SHA-1, 6 digits and a 30-second step (Google and Microsoft Authenticator)', () => {
    expect(DEFAULT_TOTP_PARAMETERS).toEqual({ algorithm: 'SHA1', digits: 6, period: 30 });
    vi.useFakeTimers();
    vi.setSystemTime(1_111_111_109_000);
    const code = generateTotp(SEEDS.SHA1);
    expect(code).toBe('081804');
    vi.setSystemTime(1_111_111_110_000);
    expect(generateTotp(SEEDS.SHA1)).not.toBe(code);
    expect(totpStepAt(new Date('2005-03-18T01:58:29Z'))).toBe(37037036);
  });

  it('RFC 6238 section 5.2: accepts one step of drift either way, reporting it, and no more', () => {
    vi.useFakeTimers();
    const now = 1_700_000_000_000;
    vi.setSystemTime(now);
    const step = totpStepAt(now);
    const codeAt = (offset: number): string => generateHotp(SEEDS.SHA1, step + offset);
    expect(verifyTotp(SEEDS.SHA1, codeAt(-1))).toEqual({ valid: true, step: step - 1, drift: -1 });
    expect(verifyTotp(SEEDS.SHA1, codeAt(1))).toEqual({ valid: true, step: step + 1, drift: 1 });
    expect(verifyTotp(SEEDS.SHA1, codeAt(-2))).toEqual({ valid: false, reason: 'mismatch' });
    expect(verifyTotp(SEEDS.SHA1, codeAt(2))).toEqual({ valid: false, reason: 'mismatch' });
    expect(verifyTotp(SEEDS.SHA1, codeAt(1), { window: 0 })).toEqual({ valid: false, reason: 'mismatch' });
    expect(verifyTotp(SEEDS.SHA1, codeAt(-2), { window: 2 })).toMatchObject({ valid: true, drift: -2 });
  });

  it('ASVS 2.8.4 / RFC 6238 section 5.2: a TOTP step is usable once', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_700_000_000_000);
    const code = generateTotp(SEEDS.SHA1);
    const first = verifyTotp(SEEDS.SHA1, code, { lastUsedStep: null });
    expect(first.valid).toBe(true);
    const lastUsedStep = first.valid ? first.step : -1;
    expect(verifyTotp(SEEDS.SHA1, code, { lastUsedStep })).toEqual({ valid: false, reason: 'replay', step: lastUsedStep });
    vi.advanceTimersByTime(29_000);
    expect(verifyTotp(SEEDS.SHA1, code, { lastUsedStep })).toMatchObject({ valid: false, reason: 'replay' });
  });

  it('ASVS 2.8.4: after a step was used, codes of earlier steps are refused too, later ones accepted', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_700_000_000_000);
    const step = totpStepAt(Date.now());
    expect(verifyTotp(SEEDS.SHA1, generateHotp(SEEDS.SHA1, step - 1), { lastUsedStep: step })).toEqual({ valid: false, reason: 'replay', step: step - 1 });
    vi.advanceTimersByTime(30_000);
    expect(verifyTotp(SEEDS.SHA1, generateTotp(SEEDS.SHA1), { lastUsedStep: step })).toEqual({ valid: true, step: step + 1, drift: 0 });
  });

  it('ASVS 2.8.4: a code entered one step early is accepted once, then the current code of that step is a replay', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_700_000_000_000);
    const step = totpStepAt(Date.now());
    const early = verifyTotp(SEEDS.SHA1, generateHotp(SEEDS.SHA1, step + 1));
    expect(early).toEqual({ valid: true, step: step + 1, drift: 1 });
    vi.advanceTimersByTime(30_000);
    expect(verifyTotp(SEEDS.SHA1, generateTotp(SEEDS.SHA1), { lastUsedStep: step + 1 })).toMatchObject({ valid: false, reason: 'replay' });
  });

  it('ignores spaces in a typed code', () => {
    expect(verifyTotp(SEEDS.SHA1, '081 804', { now: 1_111_111_109_000 })).toMatchObject({ valid: true });
  });

  it.each([[''], ['08180'], ['0818044'], ['abcdef'], ['08180a'], ['０８１８０４'], ['-81804'], [undefined]])('calls the code %j malformed', (code) => {
    expect(verifyTotp(SEEDS.SHA1, code as unknown as string, { now: 1_111_111_109_000 })).toEqual({ valid: false, reason: 'malformed' });
  });

  it.each([
    ['ERR_TOTP_SECRET_INVALID', () => generateTotp(Buffer.alloc(10))],
    ['ERR_TOTP_PARAMETERS_INVALID', () => generateTotp(SEEDS.SHA1, { digits: 9 })],
    ['ERR_TOTP_PARAMETERS_INVALID', () => generateTotp(SEEDS.SHA1, { digits: 5 })],
    ['ERR_TOTP_PARAMETERS_INVALID', () => generateTotp(SEEDS.SHA1, { period: 0 })],
    ['ERR_TOTP_PARAMETERS_INVALID', () => generateTotp(SEEDS.SHA1, { algorithm: 'MD5' as OtpAlgorithm })],
    ['ERR_TOTP_PARAMETERS_INVALID', () => verifyTotp(SEEDS.SHA1, '123456', { window: 11 })],
    ['ERR_TOTP_PARAMETERS_INVALID', () => generateHotp(SEEDS.SHA1, -1)],
    ['ERR_BASE32_INVALID', () => generateTotp('not base32!')],
  ])('refuses bad parameters with %s', (code, run) => {
    expect(codeOf(run)).toBe(code);
  });
});

describe('enrolment', () => {
  it('ASVS 2.8.3 / 5.0 6.5.3: secrets are 160 random bits from the CSPRNG', () => {
    const secrets = Array.from({ length: 50 }, () => generateTotpSecret());
    expect(secrets.every((s) => s.length === TOTP_SECRET_BYTES && TOTP_SECRET_BYTES * 8 === 160)).toBe(true);
    expect(new Set(secrets.map((s) => s.toString('hex'))).size).toBe(50);
  });

  it('shows the key in groups of four for manual entry', () => {
    expect(formatTotpKeyForManualEntry(SEEDS.SHA1)).toBe('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ');
    expect(formatTotpKeyForManualEntry('gezdgnbvgy3tqojqgezdgnbvgy3tqojq')).toBe('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ');
  });

  it('builds the otpauth:// URI authenticator apps read', () => {
    const uri = buildOtpauthUri({ secret: SEEDS.SHA1, issuer: 'Retention (acme)', account: 'jo+ops@acme.example' });
    expect(uri).toBe(
      'otpauth://totp/Retention%20(acme):jo%2Bops%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Retention%20(acme)&algorithm=SHA1&digits=6&period=30',
    );
    const parsed = new URL(uri);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.host).toBe('totp');
    expect(decodeURIComponent(parsed.pathname)).toBe('/Retention (acme):jo+ops@acme.example');
    expect(parsed.searchParams.get('issuer')).toBe('Retention (acme)');
    expect(parsed.searchParams.get('secret')).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it.each([
    [{ issuer: 'Evil:Corp', account: 'jo@acme.example' }],
    [{ issuer: 'Retention', account: 'jo:x@acme.example' }],
    [{ issuer: '', account: 'jo@acme.example' }],
    [{ issuer: 'Retention', account: '  ' }],
  ])('refuses the label %j', (label) => {
    expect(codeOf(() => buildOtpauthUri({ secret: SEEDS.SHA1, ...label }))).toBe('ERR_TOTP_LABEL_INVALID');
  });

  describe('under a frozen clock', () => {
    beforeEach(() => {
      vi.useFakeTimers();
      vi.setSystemTime(new Date('2026-05-01T12:00:10Z'));
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('ASVS 2.8.1: a code computed from the manual key verifies, as an authenticator app would compute it', () => {
      const secret = generateTotpSecret();
      const typedKey = formatTotpKeyForManualEntry(secret).toLowerCase();
      const appCode = generateTotp(typedKey);
      expect(verifyTotp(secret, appCode)).toMatchObject({ valid: true, drift: 0 });
    });
  });
});
