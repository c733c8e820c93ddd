import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PasswordResetThrottle, type PasswordResetThrottleOptions } from '../../../src/auth/password-reset-throttle.js';
import { hasErrorCode } from '../../../src/errors.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

let redis: Redis;
let prefix: string;
let clock: number;
const START = Date.UTC(2026, 0, 1, 9, 0, 0);
const MINUTE = 60_000;

const throttle = (options: PasswordResetThrottleOptions = {}): PasswordResetThrottle =>
  new PasswordResetThrottle(redis, { prefix, now: () => clock, ...options });
const jo = { tenantId: 'acme', address: 'jo@acme.example', ip: '192.0.2.7' };

beforeAll(() => {
  redis = createTestRedis();
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(() => {
  prefix = `${uniqueName('test-reset')}:`;
  clock = START;
});
afterEach(async () => {
  await cleanupPrefix(redis, prefix);
});

describe('PasswordResetThrottle', () => {
  it('allows 3 requests per address in a sliding hour, whatever the case or spaces, then refuses until the oldest leaves the window', async () => {
    const t = throttle();
    for (const address of ['jo@acme.example', ' JO@acme.example', 'Jo@Acme.Example ']) {
      expect(await t.hit({ ...jo, address, ip: `192.0.2.${clock % 200}` })).toEqual({ allowed: true });
      clock += 10 * MINUTE;
    }
    expect(await t.hit({ ...jo, ip: '198.51.100.1' })).toMatchObject({ allowed: false, reason: 'address-rate-limited' });
    expect(await t.hit({ ...jo, address: 'ines@acme.example' })).toEqual({ allowed: true });
    expect(await t.hit({ ...jo, tenantId: 'other-tenant' })).toEqual({ allowed: true });
    clock = START + 61 * MINUTE;
    expect(await t.hit(jo), 'the refused request was logged too, so the window is still full').toMatchObject({ allowed: false });
    clock = START + 2 * 60 * MINUTE;
    expect(await t.hit(jo)).toEqual({ allowed: true });
  });

  it('limits one client address (an IPv6 /64 as one) across addresses', async () => {
    const t = throttle({ maxPerClient: 2 });
    expect(await t.hit({ ...jo, address: 'a@acme.example', ip: '2001:db8:1:2::1' })).toEqual({ allowed: true });
    expect(await t.hit({ ...jo, address: 'b@acme.example', ip: '2001:db8:1:2::ffff' })).toEqual({ allowed: true });
    expect(await t.hit({ ...jo, address: 'c@acme.example', ip: '2001:db8:1:2:aaaa::3' })).toMatchObject({ allowed: false, reason: 'ip-rate-limited' });
    expect(await t.hit({ ...jo, address: 'c@acme.example', ip: '2001:db8:1:3::1' })).toEqual({ allowed: true });
  });

  it('keeps addresses out of Redis keys (digests only)', async () => {
    await throttle().hit(jo);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(2);
    expect(keys.join(' ')).not.toMatch(/jo|acme|192/);
  });

  it.each([
    ['maxPerAddress', 0],
    ['maxPerClient', 1.5],
    ['addressWindowSeconds', 86_401],
  ] as const)('refuses the option %s = %s', (name, value) => {
    expect(() => throttle({ [name]: value })).toThrow(expect.toSatisfy((err: unknown) => hasErrorCode(err, 'ERR_CONFIG_INVALID')));
  });
});
