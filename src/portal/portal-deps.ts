import type { Redis } from 'ioredis';
import type { LoginThrottleOptions } from '../auth/login-throttle.js';
import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import { RetentionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CountedQueue } from '../metrics/queue-job-counts.js';
import type { ExportQueues } from '../queue/export-queues.js';
import type { MailOutbox } from '../mail/mail-outbox.js';
import type { MailOutboxStore } from '../mail/mail-outbox-store.js';
import type { ImportQueues } from '../queue/import-queues.js';
import type { ResultsExportService } from '../results-export/results-export-service.js';
import type { ArchiveImportsStore } from '../store/archive/archive-imports-store.js';
import type { ArchiveStore } from '../store/archive/archive-store.js';
import type { ControlPlane } from '../store/control-plane.js';
import type { SsoRelyingPartyOptions } from '../sso/sso-relying-party.js';
import type { DestinationPolicy } from '../tenants/destination-policy.js';

/** The portal's tunables, from the configuration (see {@link portalOptionsFromConfig}). */
export interface PortalOptions {
  /** `PUBLIC_URL`: tenants are its subdomains; links are built on it. */
  publicUrl: string;
  /** `DEFAULT_TENANT`: the tenant of the bare `PUBLIC_URL` host. */
  defaultTenant: string | undefined;
  /** Express `trust proxy`: decides `req.ip` (allowlist, rate limits) and whether a request came over HTTPS. */
  trustProxy: Config['trustProxy'];
  /** Secrets that sign the session cookie; the first signs, all verify. */
  sessionSecrets: readonly string[];
  /** Idle timeout in ms (default 30 min). */
  sessionIdleMs: number;
  /** Absolute timeout in ms from sign-in (default 12 h). */
  sessionAbsoluteMs: number;
  /** `__Host-` prefixed Secure cookie (true) or a plain cookie for a plain-http local demo (false). */
  cookieSecure: boolean;
  /** Prefix of every Redis key the portal writes (sessions, session index, login throttle). Default `retention:portal:`. */
  redisPrefix?: string;
  /** Shown in the CEF export header and `/metrics` (`retention_build_info`). Default `0.0.0`. */
  version?: string;
  /**
   * `METRICS_TOKEN`: the bearer token `/metrics` requires (`Authorization: Bearer <token>`). Absent: `/metrics`
   * answers 404.
   */
  metricsToken?: string;
}

/** See {@link PortalDeps.sso}. */
export interface PortalSsoOptions extends Pick<SsoRelyingPartyOptions, 'execute' | 'clientMetadata' | 'discoveryTtlMs' | 'timeoutSeconds'> {
  /** Accept `http://` issuers on loopback addresses (tests only: every real provider is `https://`). */
  allowHttpLoopbackIssuer?: boolean;
}

/** What the portal app is built from: connections and stores come from the composition root, never `new`-ed inside. */
export interface PortalDeps {
  controlPlane: ControlPlane;
  /** Sessions, the session index and login throttling. */
  redis: Redis;
  /** Seals TOTP secrets. */
  keyring: Keyring;
  logger: Logger;
  /** Throws when MongoDB does not answer (for `/readyz`). */
  pingMongo: () => Promise<void>;
  options: PortalOptions;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * The online archive the browse pages and the dashboard read (built by the composition root on the tenants'
   * archive databases). Absent: those pages say the online archive is not configured.
   */
  archive?: ArchiveStore;
  /** The manifest imports of the online archive (the dashboard's archive health). */
  archiveImports?: ArchiveImportsStore;
  /** Exports of list results (queued for the worker). Absent: the export routes answer 503 and lists offer no export. */
  resultsExport?: ResultsExportService;
  /** The export queues (run now, backfill, retry, the tenants' job schedulers). Absent: the jobs pages only show runs. */
  exportQueues?: ExportQueues;
  /**
   * The online archive's queues (the Retention page queues archive rebuilds and shows their state). Absent: the
   * rebuild button answers 503 and a changed archive URI is saved without a rebuild.
   */
  importQueues?: ImportQueues;
  /** The results-export queue, for its job counts on `/metrics` (the service only adds to it). Absent: not counted. */
  resultsExportQueue?: CountedQueue;
  /**
   * Where tenants may point sources and targets (`ALLOWED_PRIVATE_DESTINATIONS`, `LOCAL_TARGET_BASE_DIR`): checked when
   * retention settings are saved and before *Test connection* connects. Default: public addresses only, no local
   * targets.
   */
  destinations?: DestinationPolicy;
  /**
   * Outgoing mail (`SMTP_URL`): invitations, password resets and notices are queued here. Absent: no mail is sent
   * and the pages say so (an invitation link is only shown).
   */
  mail?: MailOutbox;
  /** The outbox's messages, for the Outbox page (present even without mail: messages queued earlier stay listed). */
  outboxMessages?: MailOutboxStore;
  /** The mail queue, for its job counts on `/metrics` (the outbox only adds to it). Absent: not counted. */
  mailQueue?: CountedQueue;
  /**
   * The single sign-on relying party's tunables. Production passes none; the test suite allows its loopback
   * provider (`allowHttpLoopbackIssuer`, `execute: [allowInsecureRequests]`) and moves the clock (`clientMetadata`).
   */
  sso?: PortalSsoOptions;
  /** Overrides of the login throttle's limits (tests). */
  throttle?: Omit<LoginThrottleOptions, 'prefix' | 'now'>;
}

/**
 * The portal's options from the validated configuration. Throws `ERR_SESSION_SECRET_MISSING` when `SESSION_SECRET`
 * is not set: the portal cannot sign its cookie without it.
 *
 * @example
 * const options = portalOptionsFromConfig(loadConfig());
 */
export function portalOptionsFromConfig(config: Config): PortalOptions {
  if (config.sessionSecrets === undefined || config.sessionSecrets.length === 0) {
    throw new RetentionError(
      'ERR_SESSION_SECRET_MISSING',
      'SESSION_SECRET is not set: the portal needs it to sign its session cookie (generate one with: openssl rand -base64 32)',
    );
  }
  return {
    publicUrl: config.publicUrl,
    defaultTenant: config.defaultTenant,
    trustProxy: config.trustProxy,
    sessionSecrets: config.sessionSecrets,
    sessionIdleMs: config.sessionIdleMs,
    sessionAbsoluteMs: config.sessionAbsoluteMs,
    cookieSecure: config.sessionCookieSecure,
    redisPrefix: `${config.queuePrefix}:portal:`,
    metricsToken: config.metricsToken,
  };
}

/**
 * The queues the portal was given, for their job counts on `/metrics`: the export queues (runs, chunks, finalize),
 * the online archive's (imports, archive-maintenance), the results-export queue and the mail queue, those present.
 *
 * @example
 * meteredQueuesOf({ ...deps, exportQueues }).map((q) => q.name); // ['runs', 'chunks', 'finalize']
 */
export function meteredQueuesOf(deps: Pick<PortalDeps, 'exportQueues' | 'importQueues' | 'resultsExportQueue' | 'mailQueue'>): CountedQueue[] {
  const queues: CountedQueue[] = [];
  if (deps.exportQueues !== undefined) queues.push(deps.exportQueues.runs, deps.exportQueues.chunks, deps.exportQueues.finalize);
  if (deps.importQueues !== undefined) queues.push(deps.importQueues.imports, deps.importQueues.maintenance);
  if (deps.resultsExportQueue !== undefined) queues.push(deps.resultsExportQueue);
  if (deps.mailQueue !== undefined) queues.push(deps.mailQueue);
  return queues;
}
