import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { RetentionError } from '../errors.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { clientAddressBucket } from './ip-allowlist.js';
import { throttleOption } from './throttle-option.js';

/** Tunables of {@link PasswordResetThrottle}. */
export interface PasswordResetThrottleOptions {
  /** Prefix of every key. Default `retention:password-reset:`. */
  prefix?: string;
  /** The clock in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Reset requests for one address (existing or not) in `addressWindowSeconds`. Default 3. */
  maxPerAddress?: number;
  /** Sliding window of `maxPerAddress`. Default 3600 (1 hour). */
  addressWindowSeconds?: number;
  /** Reset requests from one client (IPv4 address or IPv6 /64) per tenant in `clientWindowSeconds`. Default 20. */
  maxPerClient?: number;
  /** Sliding window of `maxPerClient`. Default 3600 (1 hour). */
  clientWindowSeconds?: number;
}

/** One "forgot password" request: the address as typed and the client address. */
export interface PasswordResetRequestAttempt {
  tenantId: string;
  /** The email address as submitted; trimmed and lower-cased here. Unknown addresses are counted alike. */
  address: string;
  /** `req.ip ?? ''`; a string that is not an address shares one bucket with every other such string. */
  ip: string;
}

/** Why a request is refused. */
export type PasswordResetRefusal = 'address-rate-limited' | 'ip-rate-limited';

/** Whether a request may send a mail. */
export type PasswordResetThrottleDecision = { allowed: true } | { allowed: false; reason: PasswordResetRefusal; retryAt: Date };

/**
 * KEYS: a request log. ARGV: now, window ms, limit, unique member. Logs the request (refused ones too, so a client
 * that keeps asking stays refused) and returns {requests in the window, this one included (at most limit + 1), the
 * oldest of them}.
 */
const HIT = `
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[2])))
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(limit + 2))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), tonumber(oldest[2])}
`;

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 27);

/**
 * Limits "forgot password" requests in Redis, per address (whether an account has it or not, so the limit says
 * nothing about accounts) and per client address, each in a sliding window. Every request is logged, refused ones
 * included, and both logs are always written, so an allowed and a refused request cost the same two Redis calls.
 * Addresses appear in keys only as truncated SHA-256 digests; each key is its own hash tag (Redis Cluster). Times
 * come from the injected clock.
 *
 * @example
 * const throttle = new PasswordResetThrottle(redis, { prefix: 'retention:portal:reset:' });
 * const decision = await throttle.hit({ tenantId, address: email, ip: req.ip ?? '' });
 * if (!decision.allowed) sendNoMail(); // and answer exactly as if it were allowed
 */
export class PasswordResetThrottle {
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly maxPerAddress: number;
  private readonly addressWindowMs: number;
  private readonly maxPerClient: number;
  private readonly clientWindowMs: number;

  constructor(
    private readonly redis: Redis | Cluster,
    options: PasswordResetThrottleOptions = {},
  ) {
    this.prefix = options.prefix ?? 'retention:password-reset:';
    this.now = options.now ?? Date.now;
    this.maxPerAddress = throttleOption('password reset throttle', 'maxPerAddress', options.maxPerAddress ?? 3, 100);
    this.addressWindowMs = throttleOption('password reset throttle', 'addressWindowSeconds', options.addressWindowSeconds ?? 3600, 86_400) * 1000;
    this.maxPerClient = throttleOption('password reset throttle', 'maxPerClient', options.maxPerClient ?? 20, 100_000);
    this.clientWindowMs = throttleOption('password reset throttle', 'clientWindowSeconds', options.clientWindowSeconds ?? 3600, 86_400) * 1000;
  }

  /** Logs a request for the address and from the client, and says whether it is within both limits. */
  async hit(attempt: PasswordResetRequestAttempt): Promise<PasswordResetThrottleDecision> {
    const tenantId = assertTenantId(attempt.tenantId);
    const now = this.now();
    const member = `${now}-${randomBytes(6).toString('hex')}`;
    const addressKey = `${this.prefix}{r:${digest(`${tenantId}\u0000${String(attempt.address).trim().toLowerCase()}`)}}`;
    const clientKey = `${this.prefix}{rc:${digest(`${tenantId}\u0000${clientAddressBucket(attempt.ip)}`)}}`;
    const [addressCount, addressOldest] = await this.log(addressKey, now, this.addressWindowMs, this.maxPerAddress, member);
    const [clientCount, clientOldest] = await this.log(clientKey, now, this.clientWindowMs, this.maxPerClient, member);
    if (addressCount > this.maxPerAddress) return { allowed: false, reason: 'address-rate-limited', retryAt: new Date(addressOldest + this.addressWindowMs) };
    if (clientCount > this.maxPerClient) return { allowed: false, reason: 'ip-rate-limited', retryAt: new Date(clientOldest + this.clientWindowMs) };
    return { allowed: true };
  }

  private async log(key: string, now: number, windowMs: number, limit: number, member: string): Promise<[number, number]> {
    const reply: unknown = await this.redis.eval(HIT, 1, key, now, windowMs, limit, member);
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw new RetentionError(
        'ERR_PASSWORD_RESET_THROTTLE_REPLY',
        'Redis answered the password reset throttle script unexpectedly; check the Redis version (6.2 or later)',
      );
    }
    return [Number(reply[0]), Number(reply[1])];
  }
}
