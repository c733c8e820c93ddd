import { parseHostKeyPin, type HostKeyPin } from '../delivery/host-key-pin.js';
import { RetentionError } from '../errors.js';
import { RECORD_TYPES } from '../records/record-type.js';
import type { RetentionSettingsInput } from '../tenants/retention-settings.js';
import { isRetentionSecretField } from '../tenants/secret-context.js';

/** Flags of `retention tenant set`, as parsed by node:util `parseArgs`. Secrets only ever come from files. */
export interface SettingsFlags {
  mode?: string;
  types?: string;
  cron?: string;
  timezone?: string;
  paused?: boolean;
  resume?: boolean;
  'pause-after-failures'?: string;
  source?: string;
  seed?: string;
  'records-per-hour'?: string;
  'base-url'?: string;
  'token-file'?: string;
  'page-size'?: string;
  target?: string;
  directory?: string;
  host?: string;
  port?: string;
  username?: string;
  'password-file'?: string;
  'private-key-file'?: string;
  'passphrase-file'?: string;
  fingerprint?: string;
  'second-fingerprint'?: string;
  'no-second-fingerprint'?: boolean;
  root?: string;
  format?: string;
  gzip?: boolean;
  'no-gzip'?: boolean;
  'max-records'?: string;
  'max-bytes'?: string;
}

/** The parseArgs option table of {@link SettingsFlags}. */
export const SETTINGS_FLAG_OPTIONS = {
  mode: { type: 'string' },
  types: { type: 'string' },
  cron: { type: 'string' },
  timezone: { type: 'string' },
  paused: { type: 'boolean' },
  resume: { type: 'boolean' },
  'pause-after-failures': { type: 'string' },
  source: { type: 'string' },
  seed: { type: 'string' },
  'records-per-hour': { type: 'string' },
  'base-url': { type: 'string' },
  'token-file': { type: 'string' },
  'page-size': { type: 'string' },
  target: { type: 'string' },
  directory: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  username: { type: 'string' },
  'password-file': { type: 'string' },
  'private-key-file': { type: 'string' },
  'passphrase-file': { type: 'string' },
  fingerprint: { type: 'string' },
  'second-fingerprint': { type: 'string' },
  'no-second-fingerprint': { type: 'boolean' },
  root: { type: 'string' },
  format: { type: 'string' },
  gzip: { type: 'boolean' },
  'no-gzip': { type: 'boolean' },
  'max-records': { type: 'string' },
  'max-bytes': { type: 'string' },
} as const;

type Plain = Record<string, unknown>;

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new RetentionError('ERR_CLI_USAGE', `--${name} expects a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

const defined = (entries: Record<string, unknown>): Plain => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));

/** A host-key pin flag (`SHA256:…`, `ssh-rsa SHA256:…` or an `ssh-keygen -l` line), as a usage error when malformed. */
function pinFlag(name: string, value: string): HostKeyPin {
  try {
    return parseHostKeyPin(value);
  } catch (err) {
    if (err instanceof RetentionError) throw new RetentionError('ERR_CLI_USAGE', `--${name}: ${err.message}`);
    throw err;
  }
}

/**
 * Merges `tenant set` flags into the current settings (or a fresh default), sealing secrets read from files.
 * The result is validated by the settings store; this only translates flags.
 *
 * @example
 * applySettingsFlags(current, { cron: '0 3 * * *', timezone: 'UTC' }, readSecretFile, seal);
 */
export function applySettingsFlags(
  current: Plain | undefined,
  flags: SettingsFlags,
  readSecretFile: (path: string) => string,
  seal: (plaintext: string, field: string) => string,
): RetentionSettingsInput {
  const base: Plain = current ?? {
    mode: 'offline',
    dataTypes: [...RECORD_TYPES],
    schedule: { cron: '0 2 * * *', timezone: 'UTC' },
  };
  const next: Plain = { ...base };
  if (flags.mode !== undefined) next.mode = flags.mode;
  if (flags.types !== undefined)
    next.dataTypes = flags.types
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
  if (flags.paused && flags.resume) throw new RetentionError('ERR_CLI_USAGE', 'use either --paused or --resume');
  next.schedule = {
    ...(base.schedule as Plain),
    ...defined({
      cron: flags.cron,
      timezone: flags.timezone,
      paused: flags.paused ? true : flags.resume ? false : undefined,
      pauseAfterFailures: integerFlag('pause-after-failures', flags['pause-after-failures']),
    }),
  };

  const currentSource = (base.source ?? {}) as Plain;
  const sourceKind = flags.source ?? (currentSource.kind as string | undefined);
  const sameSource = sourceKind === currentSource.kind;
  if (sourceKind !== undefined) {
    next.source = {
      ...(sameSource ? currentSource : {}),
      ...defined({
        kind: sourceKind,
        seed: integerFlag('seed', flags.seed),
        recordsPerHour: integerFlag('records-per-hour', flags['records-per-hour']),
        baseUrl: flags['base-url'],
        pageSize: integerFlag('page-size', flags['page-size']),
        token: flags['token-file'] !== undefined ? seal(readSecretFile(flags['token-file']), 'source.token') : undefined,
      }),
    };
  }

  const currentTarget = (base.target ?? {}) as Plain;
  const targetKind = flags.target ?? (currentTarget.kind as string | undefined);
  const sameTarget = targetKind === currentTarget.kind;
  if (targetKind !== undefined) {
    next.target = {
      ...(sameTarget ? currentTarget : {}),
      ...defined({
        kind: targetKind,
        directory: flags.directory,
        host: flags.host,
        port: integerFlag('port', flags.port),
        username: flags.username,
        root: flags.root,
        password: flags['password-file'] !== undefined ? seal(readSecretFile(flags['password-file']), 'target.password') : undefined,
        privateKey: flags['private-key-file'] !== undefined ? seal(readSecretFile(flags['private-key-file']), 'target.privateKey') : undefined,
        passphrase: flags['passphrase-file'] !== undefined ? seal(readSecretFile(flags['passphrase-file']), 'target.passphrase') : undefined,
      }),
    };
  }

  if (targetKind === 'sftp' && next.target !== undefined) {
    const target = next.target as Plain;
    if (flags.fingerprint !== undefined) {
      // A new pin replaces the old one whole: a type stored for the old key says nothing about the new one.
      const pin = pinFlag('fingerprint', flags.fingerprint);
      delete target.hostKeyType;
      Object.assign(target, { hostKeyFingerprint: pin.fingerprint }, pin.type !== undefined ? { hostKeyType: pin.type } : {});
    }
    if (flags['second-fingerprint'] !== undefined && flags['no-second-fingerprint'])
      throw new RetentionError('ERR_CLI_USAGE', 'use either --second-fingerprint or --no-second-fingerprint');
    if (flags['second-fingerprint'] !== undefined) target.secondHostKey = pinFlag('second-fingerprint', flags['second-fingerprint']);
    if (flags['no-second-fingerprint']) delete target.secondHostKey;
  }

  if (flags.gzip && flags['no-gzip']) throw new RetentionError('ERR_CLI_USAGE', 'use either --gzip or --no-gzip');
  next.files = {
    ...((base.files ?? {}) as Plain),
    ...defined({
      format: flags.format,
      gzip: flags.gzip ? true : flags['no-gzip'] ? false : undefined,
      maxRecords: integerFlag('max-records', flags['max-records']),
      maxBytes: integerFlag('max-bytes', flags['max-bytes']),
    }),
  };
  return next as RetentionSettingsInput;
}

/** Settings as shown to a person: sealed secrets replaced by a marker, never printed. */
export function describeSettings(settings: Plain): Plain {
  const hide = (value: unknown, path: string): unknown => {
    if (Array.isArray(value)) return value.map((item) => hide(item, path));
    if (value instanceof Date) return value.toISOString();
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => {
          const field = path === '' ? k : `${path}.${k}`;
          return [k, isRetentionSecretField(field) ? '(sealed)' : hide(v, field)];
        }),
      );
    }
    return value;
  };
  return hide(settings, '') as Plain;
}
