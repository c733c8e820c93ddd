import { posix } from 'node:path';
import type { Logger } from 'pino';
import type { AlertSink } from '../src/alerts/alert-event.js';
import type { Target } from '../src/delivery/target.js';
import type { HostSemaphore } from '../src/queue/host-semaphore.js';
import type { Source } from '../src/sources/source.js';
import type { ControlPlane } from '../src/store/control-plane.js';
import type { SourceSettings, TargetSettings } from '../src/tenants/retention-settings.js';

/** Builds the Source a tenant's settings describe (secrets opened inside). */
export type SourceFactory = (tenantId: string, settings: SourceSettings) => Source;
/** Builds the Target a tenant's settings describe (secrets opened inside). */
export type TargetFactory = (tenantId: string, settings: TargetSettings) => Target;

/** Tunables of the export pipeline. */
export interface ExportOptions {
  /** Records updated this recently wait for the next run. Default 5 min. */
  settleLagMs: number;
  /** How far back a tenant's first run reaches. Default 24 h. */
  initialLookbackMs: number;
  /** Length of one chunk's time slice. Default 1 h. */
  sliceMs: number;
  /** Longest window one run covers; a tenant far behind catches up over several runs. Default 7 days. */
  maxWindowMs: number;
  /** Local directory for encoding before upload. */
  spoolDir: string;
}

/** Everything the export processors need, handed down from the composition root. */
export interface ExportDeps {
  controlPlane: ControlPlane;
  createSource: SourceFactory;
  createTarget: TargetFactory;
  hostSemaphore: HostSemaphore;
  logger: Logger;
  options: ExportOptions;
  /** Current time; tests freeze it. */
  now: () => Date;
  /**
   * Hands an online tenant's new manifest to the importer. Without it (offline-only setups and tests) nothing is
   * queued at finalize, and the periodic drop poll still finds the manifest.
   */
  enqueueImport?: (tenantId: string, manifestPath: string) => Promise<unknown>;
  /**
   * Where run alerts go (a run failed for good, the schedule paused). Without it (tests, no mail) nothing is alerted;
   * an alert never changes how a failure is recorded.
   */
  alerts?: AlertSink;
}

/** Defaults of {@link ExportOptions} other than the spool directory. */
export const DEFAULT_EXPORT_OPTIONS = {
  settleLagMs: 5 * 60_000,
  initialLookbackMs: 24 * 3600_000,
  sliceMs: 3600_000,
  maxWindowMs: 7 * 24 * 3600_000,
} as const;

/**
 * The semaphore key of a target: one slot pool per remote host (an SFTP server's host and port), and one per directory
 * for a local-directory target, so that local targets of different tenants never wait for each other's uploads while
 * one slow mount still holds at most the limit of slots.
 *
 * @example
 * targetHostKey({ kind: 'sftp', host: 'sftp.example.com', port: 22, ... }); // 'sftp:sftp.example.com:22'
 * targetHostKey({ kind: 'local', directory: '/srv/retention/acme/' });       // 'local:/srv/retention/acme'
 */
export function targetHostKey(settings: TargetSettings): string {
  if (settings.kind === 'sftp') return `sftp:${settings.host}:${settings.port}`;
  const directory = posix.normalize(settings.directory);
  return `local:${directory.length > 1 ? directory.replace(/\/+$/, '') : directory}`;
}
