import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { RetentionError } from '../errors.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { clientAddressBucket } from './ip-allowlist.js';
import type { PasswordPolicy } from './password-policy.js';
import { throttleOption } from './throttle-option.js';

/** Tunables of {@link LoginThrottle}; the lockout itself comes from the tenant's password policy. */
export interface LoginThrottleOptions {
  /** Prefix of every key. Default `retention:login:`. */
  prefix?: string;
  /** The clock in ms since the epoch. Default `Date.now` (so `vi.setSystemTime` applies). */
  now?: () => number;
  /** Failed sign-ins per account in any sliding hour before it is refused (ASVS 2.2.1: at most 100). Default 100. */
  maxAccountFailuresPerHour?: number;
  /** Failed sign-ins from one client (IPv4 address or IPv6 /64) per tenant in `ipWindowSeconds`. Default 50. */
  maxIpFailures?: number;
  /** Sliding window of `maxIpFailures`. Default 900 (15 minutes). */
  ipWindowSeconds?: number;
  /** Consecutive failures further apart than this start the count again. Default 3600 (1 hour). */
  failureMemorySeconds?: number;
}

/** Who is trying to sign in: the account as typed (any email, existing or not) and the client address. */
export interface LoginAttempt {
  tenantId: string;
  /** The login name as submitted; trimmed and lower-cased here. Unknown accounts are counted too (no enumeration). */
  account: string;
  /**
   * The client address (`req.ip ?? ''`). Any string is counted: one that is not an address shares one bucket with
   * every other such string (never no limit). Undefined only for checks that come from no client (the users page
   * showing lock states): it skips the per-client limit.
   */
  ip?: string;
}

/** The policy fields the throttle needs. */
export type LockoutPolicy = Pick<PasswordPolicy, 'lockoutThreshold' | 'lockoutMinutes'>;

/**
 * The factor a failure or a success belongs to. Each factor has its own run of consecutive failures and its own
 * lockout, so a correct password never clears what wrong second-factor codes have built up.
 */
export type SignInFactor = 'password' | 'second-factor';

/** What a success clears: `password` only that factor's failures; `sign-in` (both factors passed) every factor's. */
export type SignInSuccess = 'password' | 'sign-in';

/** Why an attempt is refused before the password is even checked. */
export type LoginRefusal = 'account-locked' | 'account-rate-limited' | 'ip-rate-limited';

/** Whether to let an attempt proceed to password verification. */
export type LoginThrottleDecision = { allowed: true } | { allowed: false; reason: LoginRefusal; retryAt: Date; retryAfterSeconds: number };

/** What {@link LoginThrottle.recordFailure} found. */
export interface LoginFailureOutcome {
  /** Consecutive failures of the account, this one included (0 while the account is locked: they do not extend the lock). */
  consecutiveFailures: number;
  /** True only for the failure that locked the account: audit the lockout once. */
  lockedNow: boolean;
  lockedUntil?: Date;
  /** Failures of the account in the last hour, this one included. */
  failuresLastHour: number;
}

const HOUR_MS = 3_600_000;

/**
 * KEYS: password lock, second-factor lock, hourly log. ARGV: now, hourly limit.
 * Returns {0} (allowed), {1, lockedUntil} (either factor locked: the later end) or {2, retryAt}.
 */
const CHECK_ACCOUNT = `
local now = tonumber(ARGV[1])
local lockedUntil = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0'))
if lockedUntil > now then return {1, lockedUntil} end
local since = now - ${HOUR_MS}
local count = redis.call('ZCOUNT', KEYS[3], '(' .. since, '+inf')
if count >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return {2, tonumber(oldest[2]) + ${HOUR_MS}}
end
return {0}
`;

/**
 * KEYS: the factor's consecutive-failure hash, the factor's lock, hourly log (shared by the factors). ARGV: now, threshold, lockout ms, failure memory ms,
 * hourly limit, unique member, locked-until (now + lockout). Returns {consecutive failures, 1 if this failure locked
 * the account else 0, failures in the last hour}. Times are written from ARGV strings (Lua prints numbers in %.14g).
 */
const RECORD_ACCOUNT_FAILURE = `
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - ${HOUR_MS}))
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[6])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(limit + 1))
redis.call('PEXPIRE', KEYS[3], ${HOUR_MS})
local lastHour = redis.call('ZCARD', KEYS[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') > now then return {0, 0, lastHour} end
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if now - last > tonumber(ARGV[4]) then count = 0 end
count = count + 1
if count >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return {count, 1, lastHour}
end
redis.call('HSET', KEYS[1], 'count', count, 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {count, 0, lastHour}
`;

/** KEYS: client log. ARGV: now, window ms, limit. Returns {0} or {1, retryAt}. */
const CHECK_CLIENT = `
local now = tonumber(ARGV[1])
local since = now - tonumber(ARGV[2])
local count = redis.call('ZCOUNT', KEYS[1], '(' .. since, '+inf')
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return {1, tonumber(oldest[2]) + tonumber(ARGV[2])}
end
return {0}
`;

/** KEYS: client log. ARGV: now, window ms, limit, unique member. Returns the failures in the window. */
const RECORD_CLIENT_FAILURE = `
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[2])))
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(limit + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
`;

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 27);

function asNumbers(reply: unknown): number[] {
  if (!Array.isArray(reply))
    throw new RetentionError('ERR_LOGIN_THROTTLE_REPLY', 'Redis answered the login throttle script unexpectedly; check the Redis version (6.2 or later)');
  return reply.map((value) => Number(value));
}

/**
 * Counts failed sign-ins in Redis and says when to refuse an attempt before its password is checked:
 * - the account is locked for `policy.lockoutMinutes` after `policy.lockoutThreshold` consecutive failures of one
 *   factor: passwords and second-factor codes are counted apart, a correct password clears only the password's run
 *   and only a complete sign-in clears the second factor's (so entering the password again between wrong codes
 *   never resets their count);
 * - an account with `maxAccountFailuresPerHour` failures in the last hour is refused (ASVS 2.2.1, NIST ≤ 100);
 * - a client address (IPv4, or IPv6 /64) with `maxIpFailures` failures in `ipWindowSeconds` is refused.
 *
 * Every update is one Lua script, so concurrent attempts on any number of portal processes count exactly.
 * Accounts and addresses appear in keys only as truncated SHA-256 digests (no emails in Redis); all keys of one
 * account share a hash tag, so the scripts also run on Redis Cluster. Times come from the injected clock and are
 * stored in the values; key expiry only reclaims memory.
 *
 * @example
 * const throttle = new LoginThrottle(redis, { prefix: 'retention:login:' });
 * const decision = await throttle.check({ tenantId, account: email, ip: req.ip });
 * if (!decision.allowed) return refuse(decision);                 // same message as a wrong password
 * if (!(await verifyPassword(hash, password))) {
 *   const outcome = await throttle.recordFailure({ tenantId, account: email, ip: req.ip }, policy);
 *   if (outcome.lockedNow) await audit.append(tenantId, { action: 'auth.lockout', … });
 * } else await throttle.recordSuccess({ tenantId, account: email, ip: req.ip }, 'password');
 */
export class LoginThrottle {
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly maxAccountFailuresPerHour: number;
  private readonly maxIpFailures: number;
  private readonly ipWindowMs: number;
  private readonly failureMemoryMs: number;

  constructor(
    private readonly redis: Redis | Cluster,
    options: LoginThrottleOptions = {},
  ) {
    this.prefix = options.prefix ?? 'retention:login:';
    this.now = options.now ?? Date.now;
    this.maxAccountFailuresPerHour = throttleOption('login throttle', 'maxAccountFailuresPerHour', options.maxAccountFailuresPerHour ?? 100, 100);
    this.maxIpFailures = throttleOption('login throttle', 'maxIpFailures', options.maxIpFailures ?? 50, 100_000);
    this.ipWindowMs = throttleOption('login throttle', 'ipWindowSeconds', options.ipWindowSeconds ?? 900, 86_400) * 1000;
    this.failureMemoryMs = throttleOption('login throttle', 'failureMemorySeconds', options.failureMemorySeconds ?? 3600, 86_400 * 30) * 1000;
  }

  /** Whether the attempt may go on to password verification. Call it first, for existing and unknown accounts alike. */
  async check(attempt: LoginAttempt): Promise<LoginThrottleDecision> {
    const now = this.now();
    const keys = this.accountKeys(attempt);
    const [state = 0, until = 0] = asNumbers(
      await this.redis.eval(CHECK_ACCOUNT, 3, keys.password.lock, keys.secondFactor.lock, keys.hourly, now, this.maxAccountFailuresPerHour),
    );
    if (state === 1) return refusal('account-locked', until, now);
    if (state === 2) return refusal('account-rate-limited', until, now);
    const client = this.clientKey(attempt);
    if (client !== undefined) {
      const [limited = 0, retryAt = 0] = asNumbers(await this.redis.eval(CHECK_CLIENT, 1, client, now, this.ipWindowMs, this.maxIpFailures));
      if (limited === 1) return refusal('ip-rate-limited', retryAt, now);
    }
    return { allowed: true };
  }

  /** Counts a failed attempt of one factor (a wrong password by default) against the account and the client address. */
  async recordFailure(attempt: LoginAttempt, policy: LockoutPolicy, factor: SignInFactor = 'password'): Promise<LoginFailureOutcome> {
    const now = this.now();
    const keys = this.accountKeys(attempt);
    const own = factor === 'password' ? keys.password : keys.secondFactor;
    const member = `${now}-${randomBytes(6).toString('hex')}`;
    const lockoutMs = policy.lockoutMinutes * 60_000;
    const [consecutiveFailures = 0, locked = 0, failuresLastHour = 0] = asNumbers(
      await this.redis.eval(
        RECORD_ACCOUNT_FAILURE,
        3,
        own.failures,
        own.lock,
        keys.hourly,
        now,
        policy.lockoutThreshold,
        lockoutMs,
        this.failureMemoryMs,
        this.maxAccountFailuresPerHour,
        member,
        now + lockoutMs,
      ),
    );
    const client = this.clientKey(attempt);
    if (client !== undefined) await this.redis.eval(RECORD_CLIENT_FAILURE, 1, client, now, this.ipWindowMs, this.maxIpFailures, member);
    return {
      consecutiveFailures,
      lockedNow: locked === 1,
      ...(locked === 1 ? { lockedUntil: new Date(now + lockoutMs) } : {}),
      failuresLastHour,
    };
  }

  /**
   * A success ends runs of consecutive failures: a correct password only the password's, a complete sign-in (every
   * factor the account has passed) every factor's. The hourly count and any client count stay.
   */
  async recordSuccess(attempt: LoginAttempt, success: SignInSuccess): Promise<void> {
    const keys = this.accountKeys(attempt);
    if (success === 'password') await this.redis.del(keys.password.failures);
    else await this.redis.del(keys.password.failures, keys.secondFactor.failures);
  }

  /** An administrator unlocks an account: its lock, consecutive failures and hourly count are cleared. */
  async unlock(tenantId: string, account: string): Promise<void> {
    const keys = this.accountKeys({ tenantId, account });
    await this.redis.del(keys.password.failures, keys.password.lock, keys.secondFactor.failures, keys.secondFactor.lock, keys.hourly);
  }

  private accountKeys(attempt: Pick<LoginAttempt, 'tenantId' | 'account'>): AccountKeys {
    const tenantId = assertTenantId(attempt.tenantId);
    const base = `${this.prefix}{a:${digest(`${tenantId}\u0000${String(attempt.account).trim().toLowerCase()}`)}}`;
    return {
      password: { failures: `${base}:fail`, lock: `${base}:lock` },
      secondFactor: { failures: `${base}:fail2f`, lock: `${base}:lock2f` },
      hourly: `${base}:hour`,
    };
  }

  private clientKey(attempt: LoginAttempt): string | undefined {
    if (attempt.ip === undefined) return undefined;
    const bucket = clientAddressBucket(attempt.ip);
    return `${this.prefix}{c:${digest(`${assertTenantId(attempt.tenantId)}\u0000${bucket}`)}}:fail`;
  }
}

/** The Redis keys of one account: each factor's run of failures and lock, and the hourly log they share. */
interface AccountKeys {
  password: { failures: string; lock: string };
  secondFactor: { failures: string; lock: string };
  hourly: string;
}

function refusal(reason: LoginRefusal, retryAtMs: number, now: number): LoginThrottleDecision {
  return { allowed: false, reason, retryAt: new Date(retryAtMs), retryAfterSeconds: Math.max(1, Math.ceil((retryAtMs - now) / 1000)) };
}
