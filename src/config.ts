import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { RetentionError } from './errors.js';
import { parseMailFrom, parseSmtpUrl, type MailSettings, type SmtpTransportSettings } from './mail/mail-settings.js';
import { EMPTY_DESTINATION_ALLOWLIST, parseDestinationAllowlist, type DestinationAllowlist } from './network/destination-allowlist.js';

/** Log levels pino accepts. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `a whole number from ${min} to ${max}`).max(max, `a whole number from ${min} to ${max}`));

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    `a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
  );

const databaseName = z.string().regex(/^[A-Za-z0-9_-]{1,38}$/, 'a MongoDB database name of letters, digits, "_" or "-" (at most 38 characters)');

/**
 * `TRUST_PROXY` as Express understands it, restricted to the safe forms: `false` (default: no proxy),
 * a hop count, or a comma-separated list of proxy addresses / CIDRs. `true` is refused: it lets any client forge
 * `X-Forwarded-For`, which would defeat the IP allowlist and the rate limits.
 */
const trustProxy = z.string().transform((value, ctx): false | number | string[] => {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === 'false' || trimmed === '0') return false;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(',').map((entry) => entry.trim());
  const cidr = /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-fA-F:]+)(?:\/\d{1,3})?$|^(?:loopback|linklocal|uniquelocal)$/;
  if (trimmed === 'true' || entries.some((entry) => !cidr.test(entry))) {
    ctx.addIssue({
      code: 'custom',
      message:
        '"false", a number of proxy hops, or a comma-separated list of proxy addresses or CIDRs ("true" is refused: it lets clients forge their address)',
    });
    return z.NEVER;
  }
  return entries;
});

/**
 * A master-key ring: comma-separated `keyId:base64Key` entries, each key 32 bytes (AES-256).
 * Kept as text here; `src/crypto` turns it into a keyring.
 */
const masterKeys = z.string().superRefine((value, ctx) => {
  const seen = new Set<string>();
  for (const entry of value.split(',').map((part) => part.trim())) {
    const match = /^([a-z0-9-]{1,32}):([A-Za-z0-9+/_-]+={0,2})$/.exec(entry);
    const key = match?.[2] === undefined ? undefined : Buffer.from(match[2], 'base64');
    if (!match?.[1] || key?.length !== 32) {
      ctx.addIssue({
        code: 'custom',
        message: 'comma-separated "keyId:base64Key" entries, key ids of [a-z0-9-] and keys of exactly 32 bytes (generate one with: openssl rand -base64 32)',
      });
      return;
    }
    if (seen.has(match[1])) {
      ctx.addIssue({ code: 'custom', message: `key id "${match[1]}" appears twice` });
      return;
    }
    seen.add(match[1]);
  }
});

/** `ALLOWED_PRIVATE_DESTINATIONS`: comma-separated CIDR blocks, addresses and host names (see `parseDestinationAllowlist`). */
const destinationAllowlist = z.string().transform((value, ctx): DestinationAllowlist => {
  try {
    return parseDestinationAllowlist(value);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `comma-separated CIDR blocks, addresses and host names such as "10.20.0.0/16, fd12:3456::/48, sftp, *.corp.example" (${err instanceof Error ? err.message : String(err)})`,
    });
    return z.NEVER;
  }
});

/** A schema from a parser that throws an `Error` saying what it expects. */
const parsedBy = <T>(parse: (value: string) => T) =>
  z.string().transform((value, ctx): T => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  });

const absoluteDirectory = z
  .string()
  .refine((p) => p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\u0000'), 'an absolute directory path without ".." segments');

/** One configuration variable: its schema, default and documentation, in one place. */
interface VariableSpec {
  /** Zod schema applied to the raw string. */
  schema: z.ZodType;
  /** Default as the raw string, or undefined when the variable is required / optional without default. */
  default?: string;
  /** Optional variables may be absent (the value is then `undefined`). */
  optional?: boolean;
  /** Secrets may also come from `<NAME>_FILE` and are never printed. */
  secret?: boolean;
  /** One line for README's configuration reference. */
  description: string;
}

/**
 * Every environment variable Retention reads. README's configuration reference documents each of them
 * (a test keeps the two in step).
 */
export const CONFIG_VARIABLES = {
  NODE_ENV: {
    schema: z.enum(['production', 'development', 'test']),
    default: 'production',
    description: 'production, development or test; development relaxes nothing security-relevant, it only changes log formatting.',
  },
  LOG_LEVEL: { schema: z.enum(LOG_LEVELS), default: 'info', description: `Log level: ${LOG_LEVELS.join(', ')}.` },
  REDIS_URL: {
    schema: url(['redis', 'rediss']),
    default: 'redis://127.0.0.1:6379',
    secret: true,
    description: 'Redis for queues, sessions and rate limits (redis:// or rediss://; may carry a password, so also REDIS_URL_FILE).',
  },
  QUEUE_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9_{}-]{1,64}$/, 'letters, digits, "_", "-" or a {hash-tag} (at most 64 characters)'),
    default: 'retention',
    description: 'Key prefix of all BullMQ queues; use a hash tag such as {retention} on Redis Cluster.',
  },
  MONGODB_URL: {
    schema: url(['mongodb', 'mongodb+srv']),
    default: 'mongodb://127.0.0.1:27017',
    secret: true,
    description: 'MongoDB for the control plane and, in online mode, the archive (may carry credentials, so also MONGODB_URL_FILE).',
  },
  MONGODB_DATABASE: { schema: databaseName, default: 'retention', description: 'Control-plane database name.' },
  MONGODB_ARCHIVE_DB_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,24}$/, 'letters, digits, "_" or "-" (at most 24 characters)'),
    default: 'retention_',
    description: 'Archive database of a tenant without its own URI: this prefix followed by the tenant id.',
  },
  RETENTION_MASTER_KEYS: {
    schema: masterKeys,
    optional: true,
    secret: true,
    description:
      'Master keys that seal stored secrets (SFTP passwords and keys, API tokens): "keyId:base64Key" entries, comma-separated. Required by the worker, the portal and the CLI commands that touch secrets.',
  },
  RETENTION_ACTIVE_KEY_ID: {
    schema: z.string().regex(/^[a-z0-9-]{1,32}$/, 'a key id of [a-z0-9-] present in RETENTION_MASTER_KEYS'),
    optional: true,
    description:
      'Key id new secrets are sealed with; defaults to the first key of RETENTION_MASTER_KEYS. Change it, then run `retention keys rotate`, to rotate.',
  },
  HOST: { schema: z.string().min(1), default: '0.0.0.0', description: 'Address the portal listens on.' },
  PORT: { schema: integer(1, 65535), default: '3000', description: 'Port the portal listens on.' },
  PUBLIC_URL: {
    schema: url(['http', 'https']),
    default: 'http://localhost:3000',
    description: 'Base URL users reach the portal at; used in activation and invitation links.',
  },
  TRUST_PROXY: {
    schema: trustProxy,
    default: 'false',
    description:
      'Reverse proxies whose X-Forwarded-For is believed: false, a hop count, or proxy addresses/CIDRs. Decides the client address for the IP allowlist and rate limits.',
  },
  DEFAULT_TENANT: {
    schema: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/, 'a tenant id: 3 to 63 characters of a-z, 0-9 and "-"'),
    optional: true,
    description: 'Tenant served when the host name carries no tenant subdomain (single-tenant installs).',
  },
  SESSION_SECRET: {
    schema: z
      .string()
      .refine(
        (value) => value.split(',').every((part) => part.trim().length >= 32),
        'comma-separated secrets of at least 32 characters each (generate one with: openssl rand -base64 32)',
      ),
    optional: true,
    secret: true,
    description:
      "Signs the portal's session cookie: secrets of at least 32 characters, comma-separated; the first signs, all verify (add a new one in front to rotate). Required by the portal.",
  },
  METRICS_TOKEN: {
    schema: z
      .string()
      .regex(
        /^[A-Za-z0-9\-._~+/]{32,}=*$/,
        'a token of at least 32 characters of letters, digits, "-", ".", "_", "~", "+" or "/" (base64 "=" padding allowed at the end; generate one with: openssl rand -base64 32)',
      ),
    optional: true,
    secret: true,
    description:
      "Bearer token a Prometheus scraper sends to read the portal's /metrics (Authorization: Bearer <token>); at least 32 characters. Unset: /metrics answers 404.",
  },
  SESSION_IDLE_MINUTES: {
    schema: integer(1, 1440),
    default: '30',
    description: 'A portal session unused this long ends (ASVS 3.3.2: at most 30 minutes at level 2).',
  },
  SESSION_ABSOLUTE_HOURS: {
    schema: integer(1, 168),
    default: '12',
    description: 'A portal session ends this long after sign-in, however active (ASVS 3.3.2: at most 12 hours at level 2).',
  },
  SESSION_COOKIE_SECURE: {
    schema: z.enum(['true', 'false']).transform((value) => value === 'true'),
    default: 'true',
    description:
      'true: the session cookie is `__Host-retention.sid`, Secure (HTTPS only). false only for a plain-http local demo: the cookie is then `retention.sid` without Secure.',
  },
  PASSWORD_MIN_LENGTH_FLOOR: {
    schema: integer(8, 12),
    default: '12',
    description:
      'The lowest minimum password length a tenant may set in its password policy. Default 12 (ASVS 2.1.1); 8 to 12. Lower it only where a regulation or an identity system you must match requires shorter passwords (NIST SP 800-63B allows 8): tenants can then choose down to this value.',
  },
  WORKER_CONCURRENCY: { schema: integer(1, 256), default: '4', description: 'Chunk jobs one worker process runs at once.' },
  WORKER_RECONCILE_SECONDS: {
    schema: integer(5, 3600),
    default: '60',
    description:
      'How often workers put the queue state in Redis back in step with the control plane (tenant schedulers, the archive schedulers, runs whose jobs were lost): one worker at a time, so after Redis loses its data everything is back within this time.',
  },
  WORKER_SFTP_HOST_CONCURRENCY: {
    schema: integer(1, 64),
    default: '2',
    description: 'Uploads at once to one SFTP host across all workers, so one slow customer server cannot starve the others.',
  },
  RESULT_EXPORT_MAX_RECORDS: {
    schema: integer(1, 10_000_000),
    default: '100000',
    description: 'Most records one portal export may hold; a larger result fails and asks the user to narrow the filter.',
  },
  RESULT_EXPORT_MAX_BYTES: {
    schema: integer(1024, 10 * 1024 ** 3),
    default: String(100 * 1024 ** 2),
    description: 'Most bytes of one portal export file, the same way.',
  },
  RESULT_EXPORT_LINK_SECONDS: {
    schema: integer(60, 7 * 86_400),
    default: '900',
    description: 'How long an export download link works (each link also works only once).',
  },
  SETTLE_LAG_SECONDS: {
    schema: integer(0, 86_400),
    default: '300',
    description: 'Records updated in the last N seconds wait for the next run, so late writes in the source are not missed.',
  },
  SPOOL_DIR: {
    schema: z.string().min(1),
    default: join(tmpdir(), 'retention-spool'),
    description: 'Local directory where files are encoded before upload (deleted after each chunk).',
  },
  IMPORT_MAX_INFLATED_BYTES: {
    schema: integer(1024 * 1024, 1024 ** 4),
    default: String(1024 ** 3),
    description:
      'Most bytes one gzipped record file of a drop may inflate to on import; reading stops there and the manifest is refused (ERR_IMPORT_INFLATED_TOO_LARGE).',
  },
  IMPORT_MAX_INFLATE_RATIO: {
    schema: integer(2, 100_000),
    default: '100',
    description:
      'Most times its compressed size a gzipped record file may inflate to on import, once past IMPORT_INFLATE_RATIO_AFTER_BYTES; reading stops there and the manifest is refused (ERR_IMPORT_INFLATE_RATIO_EXCEEDED, a decompression bomb).',
  },
  IMPORT_INFLATE_RATIO_AFTER_BYTES: {
    schema: integer(0, 1024 ** 4),
    default: String(16 * 1024 ** 2),
    description: 'Bytes a gzipped record file may always inflate to on import, whatever its ratio (IMPORT_MAX_INFLATE_RATIO applies beyond).',
  },
  ALLOWED_PRIVATE_DESTINATIONS: {
    schema: destinationAllowlist,
    optional: true,
    description:
      "Non-public destinations tenant settings may still reach (http source URLs, SFTP hosts, the portal's Test connection): comma-separated CIDR blocks or addresses (10.20.0.0/16, fd12:3456::/48, 127.0.0.1) and host names trusted whatever they resolve to (sftp, *.corp.example). Unset: only public addresses; loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified, multicast and reserved addresses are refused.",
  },
  LOCAL_TARGET_BASE_DIR: {
    schema: absoluteDirectory,
    optional: true,
    description:
      'Directory below which tenants\' local-directory targets must lie (real paths compared: no escape through ".." or symbolic links). Unset: local-directory targets are refused.',
  },
  SMTP_URL: {
    schema: parsedBy<SmtpTransportSettings>(parseSmtpUrl),
    optional: true,
    secret: true,
    description:
      'SMTP server for outgoing mail: smtps://user:password@host:465 (TLS), smtp://user:password@host:587?tls=starttls (STARTTLS, required), or smtp://host:25?tls=off (plain text, only to a relay you trust); certificates are always verified. Unset: no mail (the portal shows invitation links instead).',
  },
  MAIL_FROM: {
    schema: parsedBy(parseMailFrom),
    optional: true,
    description: 'Sender of every message, "Retention <retention@example.com>" or an address; required with SMTP_URL.',
  },
  SHUTDOWN_TIMEOUT_SECONDS: {
    schema: integer(1, 3600),
    default: '30',
    description: 'On SIGTERM, how long running jobs may take to finish before the process exits (unfinished jobs are retried elsewhere).',
  },
} satisfies Record<string, VariableSpec>;

type Variables = typeof CONFIG_VARIABLES;
type Parsed<K extends keyof Variables> = z.output<Variables[K]['schema']>;

/** The validated, frozen configuration of a Retention process. */
export interface Config {
  nodeEnv: Parsed<'NODE_ENV'>;
  logLevel: Parsed<'LOG_LEVEL'>;
  redisUrl: string;
  queuePrefix: string;
  mongodbUrl: string;
  mongodbDatabase: string;
  mongodbArchiveDbPrefix: string;
  masterKeys: string | undefined;
  activeKeyId: string | undefined;
  host: string;
  port: number;
  publicUrl: string;
  trustProxy: Parsed<'TRUST_PROXY'>;
  defaultTenant: string | undefined;
  sessionSecrets: string[] | undefined;
  /** `METRICS_TOKEN`: `/metrics` is off (404) without it. */
  metricsToken: string | undefined;
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  sessionCookieSecure: boolean;
  /** `PASSWORD_MIN_LENGTH_FLOOR`: tenants' password policies may not ask for fewer characters. */
  passwordMinLengthFloor: number;
  workerConcurrency: number;
  /** `WORKER_RECONCILE_SECONDS` in ms. */
  workerReconcileMs: number;
  resultExport: { maxRecords: number; maxBytes: number; linkLifetimeSeconds: number };
  workerSftpHostConcurrency: number;
  settleLagMs: number;
  spoolDir: string;
  /** `IMPORT_MAX_INFLATED_BYTES`, `IMPORT_MAX_INFLATE_RATIO`, `IMPORT_INFLATE_RATIO_AFTER_BYTES`: what inflating one gzipped drop file may cost on import. */
  importInflateLimits: { maxInflatedBytes: number; maxInflateRatio: number; ratioAfterBytes: number };
  /** `ALLOWED_PRIVATE_DESTINATIONS`: non-public destinations tenant settings may reach (none when unset). */
  allowedPrivateDestinations: DestinationAllowlist;
  /** `LOCAL_TARGET_BASE_DIR`: local-directory targets must lie below it; unset refuses them. */
  localTargetBaseDir: string | undefined;
  shutdownTimeoutMs: number;
  /** `SMTP_URL` and `MAIL_FROM`: how mail is sent; undefined without `SMTP_URL` (no mail). */
  mail: MailSettings | undefined;
}

/** Thrown when the environment holds an invalid configuration. Its message lists every problem. */
export class ConfigError extends RetentionError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('ERR_CONFIG_INVALID', `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Builds the configuration from environment variables, once, at start. Every variable is validated; a secret may
 * instead come from a file named by `<NAME>_FILE` (trailing newline trimmed). All problems are reported together,
 * each naming the variable and what is expected.
 *
 * @example
 * const config = loadConfig(process.env); // throws ConfigError listing e.g. 'PORT: expected a whole number from 1 to 65535'
 */
export function loadConfig(env: Env = process.env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Readonly<Config> {
  const problems: string[] = [];
  const values: Partial<Record<keyof Variables, unknown>> = {};
  const supplied = new Set<keyof Variables>();

  for (const [name, spec] of Object.entries(CONFIG_VARIABLES) as [keyof Variables, VariableSpec][]) {
    const raw = readRaw(name, spec, env, readFile, problems);
    if (raw === null) continue;
    if (raw !== undefined) supplied.add(name);
    const input = raw ?? spec.default;
    if (input === undefined) {
      if (!spec.optional) problems.push(`${name}: required: ${spec.description}`);
      continue;
    }
    const result = spec.schema.safeParse(input);
    if (result.success) values[name] = result.data;
    else {
      const shown = spec.secret ? '(value hidden)' : JSON.stringify(input);
      problems.push(`${name}: expected ${result.error.issues[0]?.message ?? 'a valid value'}, got ${shown}`);
    }
  }

  const masterKeyIds = typeof values.RETENTION_MASTER_KEYS === 'string' ? values.RETENTION_MASTER_KEYS.split(',').map((e) => e.trim().split(':')[0]) : [];
  if (values.RETENTION_ACTIVE_KEY_ID !== undefined && !masterKeyIds.includes(values.RETENTION_ACTIVE_KEY_ID as string)) {
    problems.push('RETENTION_ACTIVE_KEY_ID: expected a key id present in RETENTION_MASTER_KEYS');
  }
  if (supplied.has('SMTP_URL') && !supplied.has('MAIL_FROM')) {
    problems.push('MAIL_FROM: required when SMTP_URL is set: the sender of every message, e.g. "Retention <retention@example.com>"');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const v = values as { [K in keyof Variables]: Parsed<K> };
  return Object.freeze({
    nodeEnv: v.NODE_ENV,
    logLevel: v.LOG_LEVEL,
    redisUrl: v.REDIS_URL,
    queuePrefix: v.QUEUE_PREFIX,
    mongodbUrl: v.MONGODB_URL,
    mongodbDatabase: v.MONGODB_DATABASE,
    mongodbArchiveDbPrefix: v.MONGODB_ARCHIVE_DB_PREFIX,
    masterKeys: v.RETENTION_MASTER_KEYS,
    activeKeyId: v.RETENTION_ACTIVE_KEY_ID ?? masterKeyIds[0],
    host: v.HOST,
    port: v.PORT,
    publicUrl: v.PUBLIC_URL.replace(/\/+$/, ''),
    trustProxy: Array.isArray(v.TRUST_PROXY) ? (Object.freeze([...v.TRUST_PROXY]) as string[]) : v.TRUST_PROXY,
    defaultTenant: v.DEFAULT_TENANT,
    sessionSecrets: v.SESSION_SECRET === undefined ? undefined : (Object.freeze(v.SESSION_SECRET.split(',').map((part) => part.trim())) as string[]),
    metricsToken: v.METRICS_TOKEN,
    sessionIdleMs: v.SESSION_IDLE_MINUTES * 60_000,
    sessionAbsoluteMs: v.SESSION_ABSOLUTE_HOURS * 3_600_000,
    sessionCookieSecure: v.SESSION_COOKIE_SECURE,
    passwordMinLengthFloor: v.PASSWORD_MIN_LENGTH_FLOOR,
    workerConcurrency: v.WORKER_CONCURRENCY,
    workerReconcileMs: v.WORKER_RECONCILE_SECONDS * 1000,
    resultExport: Object.freeze({
      maxRecords: v.RESULT_EXPORT_MAX_RECORDS,
      maxBytes: v.RESULT_EXPORT_MAX_BYTES,
      linkLifetimeSeconds: v.RESULT_EXPORT_LINK_SECONDS,
    }),
    workerSftpHostConcurrency: v.WORKER_SFTP_HOST_CONCURRENCY,
    settleLagMs: v.SETTLE_LAG_SECONDS * 1000,
    spoolDir: v.SPOOL_DIR,
    importInflateLimits: Object.freeze({
      maxInflatedBytes: v.IMPORT_MAX_INFLATED_BYTES,
      maxInflateRatio: v.IMPORT_MAX_INFLATE_RATIO,
      ratioAfterBytes: v.IMPORT_INFLATE_RATIO_AFTER_BYTES,
    }),
    allowedPrivateDestinations: v.ALLOWED_PRIVATE_DESTINATIONS ?? EMPTY_DESTINATION_ALLOWLIST,
    localTargetBaseDir: v.LOCAL_TARGET_BASE_DIR,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    mail:
      v.SMTP_URL === undefined || v.MAIL_FROM === undefined
        ? undefined
        : Object.freeze({ from: v.MAIL_FROM, transport: Object.freeze({ ...v.SMTP_URL }) as SmtpTransportSettings }),
  });
}

/**
 * The raw string of a variable: from the environment, or for secrets from `<NAME>_FILE`.
 * `null` means a problem was recorded; `undefined` means absent.
 */
function readRaw(name: string, spec: VariableSpec, env: Env, readFile: (path: string) => string, problems: string[]): string | undefined | null {
  const direct = env[name];
  const filePath = spec.secret ? env[`${name}_FILE`] : undefined;
  if (direct !== undefined && filePath !== undefined) {
    problems.push(`${name}: set either ${name} or ${name}_FILE, not both`);
    return null;
  }
  if (filePath === undefined) return direct === '' ? undefined : direct;
  try {
    return readFile(filePath).replace(/\r?\n$/, '');
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
    problems.push(`${name}_FILE: cannot read ${JSON.stringify(filePath)} (${reason}); expected a readable file holding ${name}`);
    return null;
  }
}
