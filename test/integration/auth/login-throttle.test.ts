import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LoginThrottle, type LockoutPolicy, type LoginThrottleOptions } from '../../../src/auth/login-throttle.js';
import { DEFAULT_PASSWORD_POLICY } from '../../../src/auth/password-policy.js';
import type { RetentionError } from '../../../src/errors.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

let redis: Redis;
let prefix: string;
let clock: number;
const START = Date.UTC(2026, 0, 1, 9, 0, 0);
const MINUTE = 60_000;

const policy: LockoutPolicy = { lockoutThreshold: DEFAULT_PASSWORD_POLICY.lockoutThreshold, lockoutMinutes: DEFAULT_PASSWORD_POLICY.lockoutMinutes };
const jo = { tenantId: 'acme', account: 'jo@acme.example', ip: '192.0.2.7' };

const throttle = (options: LoginThrottleOptions = {}): LoginThrottle => new LoginThrottle(redis, { prefix, now: () => clock, ...options });

async function fail(t: LoginThrottle, times: number, attempt = jo, lockout = policy): Promise<boolean[]> {
  const locked: boolean[] = [];
  for (let i = 0; i < times; i += 1) locked.push((await t.recordFailure(attempt, lockout)).lockedNow);
  return locked;
}

beforeAll(() => {
  redis = createTestRedis();
});

afterAll(async () => {
  await redis.quit();
});

beforeEach(() => {
  prefix = `${uniqueName('test-login')}:`;
  clock = START;
});

afterEach(async () => {
  vi.useRealTimers();
  await cleanupPrefix(redis, prefix);
});

describe('LoginThrottle: account lockout', () => {
  it('ASVS 2.2.1: locks the account after the policy threshold (10) for its duration (15 min)', async () => {
    const t = throttle();
    expect(await fail(t, 9)).toEqual(Array(9).fill(false));
    expect(await t.check(jo)).toEqual({ allowed: true });
    const tenth = await t.recordFailure(jo, policy);
    expect(tenth).toEqual({ consecutiveFailures: 10, lockedNow: true, lockedUntil: new Date(START + 15 * MINUTE), failuresLastHour: 10 });
    expect(await t.check(jo)).toEqual({ allowed: false, reason: 'account-locked', retryAt: new Date(START + 15 * MINUTE), retryAfterSeconds: 900 });
    clock += 15 * MINUTE - 1000;
    expect(await t.check(jo)).toMatchObject({ allowed: false, reason: 'account-locked', retryAfterSeconds: 1 });
    clock += 1000;
    expect(await t.check(jo)).toEqual({ allowed: true });
  });

  it('reports the lockout once, and starts counting again after it', async () => {
    const t = throttle();
    const locks = await fail(t, 10);
    expect(locks.filter(Boolean)).toHaveLength(1);
    clock += 15 * MINUTE;
    expect((await t.recordFailure(jo, policy)).consecutiveFailures).toBe(1);
  });

  it("honours a tenant's own threshold and duration", async () => {
    const t = throttle();
    expect(await fail(t, 3, jo, { lockoutThreshold: 3, lockoutMinutes: 60 })).toEqual([false, false, true]);
    clock += 59 * MINUTE;
    expect(await t.check(jo)).toMatchObject({ allowed: false, reason: 'account-locked' });
    clock += MINUTE;
    expect(await t.check(jo)).toEqual({ allowed: true });
  });

  it('a successful sign-in ends the run of consecutive failures', async () => {
    const t = throttle();
    await fail(t, 9);
    await t.recordSuccess(jo, 'sign-in');
    expect(await fail(t, 9)).toEqual(Array(9).fill(false));
    expect(await t.check(jo)).toEqual({ allowed: true });
  });

  it('issue 10.2: counts each factor on its own; a correct password never clears second-factor failures', async () => {
    const t = throttle();
    const lockout = { lockoutThreshold: 5, lockoutMinutes: 15 };
    const outcomes: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      await t.recordSuccess(jo, 'password');
      const outcome = await t.recordFailure(jo, lockout, 'second-factor');
      outcomes.push(outcome.consecutiveFailures);
      if (outcome.lockedNow) break;
    }
    expect(outcomes).toEqual([1, 2, 3, 4, 5]);
    expect(await t.check(jo)).toMatchObject({ allowed: false, reason: 'account-locked', retryAfterSeconds: 900 });
  });

  it('issue 10.2: password failures do not add to second-factor failures, and only a complete sign-in clears both', async () => {
    const t = throttle();
    const lockout = { lockoutThreshold: 3, lockoutMinutes: 15 };
    await t.recordFailure(jo, lockout, 'password');
    await t.recordFailure(jo, lockout, 'password');
    expect((await t.recordFailure(jo, lockout, 'second-factor')).consecutiveFailures).toBe(1);
    expect((await t.recordFailure(jo, lockout, 'second-factor')).consecutiveFailures).toBe(2);
    await t.recordSuccess(jo, 'password');
    expect((await t.recordFailure(jo, lockout, 'password')).consecutiveFailures).toBe(1);
    await t.recordSuccess(jo, 'sign-in');
    expect((await t.recordFailure(jo, lockout, 'second-factor')).consecutiveFailures).toBe(1);
    expect((await t.recordFailure(jo, lockout, 'password')).consecutiveFailures).toBe(1);
    expect(await t.check(jo)).toEqual({ allowed: true });
  });

  it('issue 10.2: an administrator unlock clears the locks and failures of both factors', async () => {
    const t = throttle();
    const lockout = { lockoutThreshold: 2, lockoutMinutes: 15 };
    await t.recordFailure(jo, lockout, 'second-factor');
    await t.recordFailure(jo, lockout, 'second-factor');
    await t.recordFailure(jo, lockout, 'password');
    expect((await t.check(jo)).allowed).toBe(false);
    await t.unlock(jo.tenantId, jo.account);
    expect(await t.check(jo)).toEqual({ allowed: true });
    expect((await t.recordFailure(jo, lockout, 'second-factor')).consecutiveFailures).toBe(1);
    expect((await t.recordFailure(jo, lockout, 'password')).consecutiveFailures).toBe(1);
  });

  it('failures further apart than failureMemorySeconds do not add up', async () => {
    const t = throttle({ failureMemorySeconds: 600 });
    await fail(t, 9);
    clock += 10 * MINUTE + 1;
    expect((await t.recordFailure(jo, policy)).consecutiveFailures).toBe(1);
  });

  it('counts accounts case-insensitively and keeps tenants apart', async () => {
    const t = throttle();
    await fail(t, 10, { ...jo, account: ' JO@Acme.Example ' });
    expect(await t.check(jo)).toMatchObject({ allowed: false, reason: 'account-locked' });
    expect(await t.check({ ...jo, tenantId: 'other-tenant' })).toEqual({ allowed: true });
    expect(await t.check({ ...jo, account: 'ann@acme.example' })).toEqual({ allowed: true });
  });

  it('locks unknown accounts the same way (no account enumeration)', async () => {
    const t = throttle();
    const ghost = { ...jo, account: 'nobody@acme.example' };
    expect((await fail(t, 10, ghost)).at(-1)).toBe(true);
    expect(await t.check(ghost)).toMatchObject({ allowed: false, reason: 'account-locked' });
  });

  it('an administrator can unlock an account', async () => {
    const t = throttle();
    await fail(t, 10);
    await t.unlock('acme', 'jo@acme.example');
    expect(await t.check(jo)).toEqual({ allowed: true });
    expect((await t.recordFailure(jo, policy)).consecutiveFailures).toBe(1);
  });

  it('ASVS 2.2.1: concurrent failures from many processes lock exactly once (atomic)', async () => {
    const throttles = [throttle(), throttle(), throttle()];
    const outcomes = await Promise.all(Array.from({ length: 25 }, (_, i) => throttles[i % 3]?.recordFailure(jo, policy)));
    expect(outcomes.filter((o) => o?.lockedNow)).toHaveLength(1);
    expect(
      outcomes
        .map((o) => o?.failuresLastHour)
        .sort((a = 0, b = 0) => a - b)
        .at(-1),
    ).toBe(25);
  });

  it('works under vi.setSystemTime with the default clock', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(START);
    const t = new LoginThrottle(redis, { prefix });
    await fail(t, 10);
    expect(await t.check(jo)).toMatchObject({ allowed: false, reason: 'account-locked', retryAt: new Date(START + 15 * MINUTE) });
    vi.setSystemTime(START + 15 * MINUTE);
    expect(await t.check(jo)).toEqual({ allowed: true });
  });
});

describe('LoginThrottle: at most 100 failures per account per hour', () => {
  it('ASVS 2.2.1 / NIST SP 800-63B: refuses the account after 100 failures in a sliding hour', async () => {
    const t = throttle();
    const lockout = { lockoutThreshold: 100, lockoutMinutes: 1 };
    for (let i = 0; i < 99; i += 1) {
      await t.recordFailure(jo, lockout);
      if (i % 10 === 9) await t.recordSuccess(jo, 'sign-in');
      clock += 30_000;
    }
    expect(await t.check(jo)).toEqual({ allowed: true });
    const hundredth = await t.recordFailure(jo, lockout);
    expect(hundredth.failuresLastHour).toBe(100);
    expect(hundredth.lockedNow).toBe(false);
    const decision = await t.check(jo);
    expect(decision).toMatchObject({ allowed: false, reason: 'account-rate-limited', retryAt: new Date(START + 60 * MINUTE) });
    clock = START + 60 * MINUTE;
    expect(await t.check(jo)).toEqual({ allowed: true });
  });

  it('keeps at most 100 per hour across a window boundary (sliding, not fixed)', async () => {
    const t = throttle();
    const lockout = { lockoutThreshold: 100, lockoutMinutes: 1 };
    clock = START + 59 * MINUTE;
    for (let i = 0; i < 99; i += 1) {
      await t.recordFailure(jo, lockout);
      if (i % 10 === 9) await t.recordSuccess(jo, 'sign-in');
    }
    await t.recordSuccess(jo, 'sign-in');
    await t.recordFailure(jo, lockout);
    clock = START + 61 * MINUTE;
    expect(await t.check(jo)).toMatchObject({ allowed: false, reason: 'account-rate-limited' });
  });

  it.each([[0], [101], [1.5]])('refuses maxAccountFailuresPerHour %j', (max) => {
    const err = (() => {
      try {
        throttle({ maxAccountFailuresPerHour: max });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect((err as RetentionError).code).toBe('ERR_CONFIG_INVALID');
  });
});

describe('LoginThrottle: per client address', () => {
  it('refuses a client after maxIpFailures across accounts in the window, others still allowed', async () => {
    const t = throttle({ maxIpFailures: 5, ipWindowSeconds: 300 });
    for (let i = 0; i < 5; i += 1) await t.recordFailure({ ...jo, account: `user${i}@acme.example` }, policy);
    expect(await t.check({ ...jo, account: 'fresh@acme.example' })).toMatchObject({ allowed: false, reason: 'ip-rate-limited', retryAfterSeconds: 300 });
    expect(await t.check({ ...jo, account: 'fresh@acme.example', ip: '192.0.2.8' })).toEqual({ allowed: true });
    expect(await t.check({ ...jo, account: 'fresh@acme.example', ip: undefined })).toEqual({ allowed: true });
    clock += 300_000;
    expect(await t.check({ ...jo, account: 'fresh@acme.example' })).toEqual({ allowed: true });
  });

  it('counts an IPv6 /64 as one client and IPv4-mapped addresses as IPv4', async () => {
    const t = throttle({ maxIpFailures: 2 });
    await t.recordFailure({ ...jo, ip: '2001:db8:1:2::a' }, policy);
    await t.recordFailure({ ...jo, account: 'b@acme.example', ip: '2001:db8:1:2:ffff::b' }, policy);
    expect(await t.check({ ...jo, account: 'c@acme.example', ip: '2001:db8:1:2::c' })).toMatchObject({ reason: 'ip-rate-limited' });
    expect(await t.check({ ...jo, account: 'c@acme.example', ip: '2001:db8:1:3::c' })).toEqual({ allowed: true });
    await t.recordFailure({ ...jo, ip: '::ffff:192.0.2.50' }, policy);
    await t.recordFailure({ ...jo, account: 'b@acme.example', ip: '192.0.2.50' }, policy);
    expect(await t.check({ ...jo, account: 'c@acme.example', ip: '192.0.2.50' })).toMatchObject({ reason: 'ip-rate-limited' });
  });
});

describe('LoginThrottle: keys', () => {
  it('keeps every key under the prefix, with no email address or IP in it, and expiring', async () => {
    const t = throttle({ maxIpFailures: 3 });
    await fail(t, 10);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const key of keys) {
      expect(key.startsWith(prefix)).toBe(true);
      expect(key).not.toMatch(/jo|acme|192/);
      expect(await redis.pttl(key)).toBeGreaterThan(0);
    }
    expect(await cleanupPrefix(redis, prefix)).toBe(keys.length);
  });

  it('refuses an invalid tenant id', async () => {
    const err = await throttle()
      .check({ ...jo, tenantId: '../x' })
      .catch((e: unknown) => e);
    expect((err as RetentionError).code).toBe('ERR_TENANT_ID_INVALID');
  });
});
