import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { parseKeyring, type Keyring } from '../../src/crypto/keyring.js';
import { sealSecret } from '../../src/crypto/secret-box.js';
import { createTarget } from '../../src/delivery/create-target.js';
import type { Target } from '../../src/delivery/target.js';
import { createExportQueues, type ExportQueues } from '../../src/queue/export-queues.js';
import { HostSemaphore } from '../../src/queue/host-semaphore.js';
import { createSource } from '../../src/sources/create-source.js';
import type { Run } from '../../src/store/runs-store.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../src/store/control-plane.js';
import { secretContext } from '../../src/tenants/secret-context.js';
import { DEFAULT_EXPORT_OPTIONS, type ExportDeps } from '../../worker/export-deps.js';
import { startExportWorkers, type ExportWorkerOptions, type ExportWorkers } from '../../worker/export-workers.js';
import { cleanupPrefix, createTestRedis, uniqueName } from './redis.js';
import { dropTestDatabase, uniqueDbName } from './mongo.js';
import type { SftpServerFacts } from './sftp-server.js';
import { testDestinations } from './destinations.js';
import type { DestinationPolicy } from '../../src/tenants/destination-policy.js';

/** A master-key ring for tests only. */
export const TEST_MASTER_KEYS = `test-k1:${Buffer.alloc(32, 7).toString('base64')}`;

/** Everything an export test needs: a fresh database, a unique queue prefix, real workers. */
export interface ExportHarness {
  db: Db;
  controlPlane: ControlPlane;
  queues: ExportQueues;
  deps: ExportDeps;
  keyring: Keyring;
  prefix: string;
  spoolDir: string;
  startWorkers(options?: ExportWorkerOptions): ExportWorkers;
  /** Polls until the run reaches `done` or `failed`, or the timeout passes. */
  waitForRun(tenantId: string, runId: string, timeoutMs?: number): Promise<Run>;
  /** SFTP target settings for a directory of the given test server, the client key sealed. */
  sftpTargetSettings(tenantId: string, server: SftpServerFacts, root: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

/**
 * Builds an export test bed on the test MongoDB and Redis. Source and target factories are the real ones (targets
 * may be wrapped, e.g. with fault injection), bound to the test bed's destination policy (loopback allowed, local
 * targets below the temp directory) unless `overrides.destinations` gives another.
 */
export async function createExportHarness(
  mongoUrl: string,
  overrides: { now?: () => Date; wrapTarget?: (target: Target) => Target; options?: Partial<ExportDeps['options']>; destinations?: DestinationPolicy } = {},
): Promise<ExportHarness> {
  const client = await MongoClient.connect(mongoUrl);
  const dbName = uniqueDbName('export');
  const db = client.db(dbName);
  const controlPlane = createControlPlane(db);
  await ensureControlPlaneIndexes(controlPlane);
  const redis = createTestRedis();
  const prefix = uniqueName('rt');
  const queues = createExportQueues(redis, prefix);
  const keyring = parseKeyring(TEST_MASTER_KEYS);
  const spoolDir = await mkdtemp(join(tmpdir(), 'retention-spool-'));
  const destinations = overrides.destinations ?? testDestinations();
  const deps: ExportDeps = {
    controlPlane,
    createSource: (tenantId, settings) => createSource(keyring, tenantId, settings, destinations),
    createTarget: (tenantId, settings) => {
      const target = createTarget(keyring, tenantId, settings, destinations);
      return overrides.wrapTarget ? overrides.wrapTarget(target) : target;
    },
    hostSemaphore: new HostSemaphore(redis, { prefix, limit: 2, leaseMs: 5_000 }),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    options: { ...DEFAULT_EXPORT_OPTIONS, spoolDir, ...overrides.options },
    now: overrides.now ?? (() => new Date()),
  };
  const started: ExportWorkers[] = [];
  return {
    db,
    controlPlane,
    queues,
    deps,
    keyring,
    prefix,
    spoolDir,
    startWorkers(options = {}) {
      const workers = startExportWorkers(deps, queues, redis, { stalledIntervalMs: 1_000, lockDurationMs: 5_000, ...options });
      started.push(workers);
      return workers;
    },
    async waitForRun(tenantId, runId, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = await controlPlane.runs.get(tenantId, runId);
        if (run && run.status !== 'running') return run;
        if (Date.now() > deadline)
          throw new Error(`run ${runId} still ${run?.status ?? 'missing'} after ${timeoutMs} ms: ${JSON.stringify(run?.errors ?? [])}`);
        await sleep(100);
      }
    },
    sftpTargetSettings(tenantId, server, root, extra = {}) {
      return {
        kind: 'sftp',
        host: server.host,
        port: server.port,
        username: server.username,
        privateKey: sealSecret(keyring, server.clientPrivateKey, secretContext(tenantId, 'target.privateKey')),
        hostKeyFingerprint: server.hostKeyFingerprint,
        root,
        ...extra,
      };
    },
    async close() {
      await Promise.all(started.map((w) => w.close()));
      await queues.close();
      await cleanupPrefix(redis, prefix);
      await redis.quit();
      await dropTestDatabase(client, dbName);
      await client.close();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

/** A random directory name for one test's drop. */
export const uniqueDropDir = (): string => `drop-${randomBytes(5).toString('hex')}`;
