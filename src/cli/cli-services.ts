import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import type { Config } from '../config.js';
import { keyringFromConfig } from '../crypto/keyring-from-config.js';
import type { Keyring } from '../crypto/keyring.js';
import { SftpTarget, type SftpTargetOptions } from '../delivery/sftp-target.js';
import type { Target } from '../delivery/target.js';
import type { ImportDeps } from '../import/import-manifest.js';
import { buildImportDeps } from '../import/open-import-deps.js';
import { createExportQueues, type ExportQueues } from '../queue/export-queues.js';
import { createImportQueues, type ImportQueues } from '../queue/import-queues.js';
import type { ArchiveDatabases } from '../store/archive/archive-databases.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../store/control-plane.js';
import { destinationPolicyFromConfig } from '../tenants/destination-policy.js';
import type { CliIo } from './cli-io.js';

/**
 * Everything a CLI command may need, wired once per invocation: every connection opens on first use (so `--help`
 * and usage errors open none) and {@link close} ends them all, once, whether the command succeeded or not.
 *
 * @example
 * const services = new CliServices(config, processIo);
 * try { await (await services.controlPlane()).tenants.list(); } finally { await services.close(); }
 */
export class CliServices {
  private mongo: Promise<MongoClient> | undefined;
  private plane: Promise<ControlPlane> | undefined;
  private archive: Promise<ImportDeps & { archives: ArchiveDatabases }> | undefined;
  private redis: Redis | undefined;
  private exportQueues: ExportQueues | undefined;
  private archiveQueues: ImportQueues | undefined;
  private ring: Keyring | undefined;
  private readonly targets: Target[] = [];
  private closed = false;

  constructor(
    readonly config: Config,
    readonly io: CliIo,
  ) {}

  /** The control plane (tenants, settings, security, runs, checkpoints, audit) on the one MongoDB client, indexes ensured. */
  controlPlane(): Promise<ControlPlane> {
    this.plane ??= this.openControlPlane();
    return this.plane;
  }

  /** The export queues (runs, chunks, finalize, flows) on the one Redis connection. */
  queues(): ExportQueues {
    this.exportQueues ??= createExportQueues(this.connection(), this.config.queuePrefix);
    return this.exportQueues;
  }

  /** The archive queues (imports, maintenance) on the same Redis connection. */
  importQueues(): ImportQueues {
    this.archiveQueues ??= createImportQueues(this.connection(), this.config.queuePrefix);
    return this.archiveQueues;
  }

  /**
   * The importer's dependencies (imports, legal holds, archive store…) on the one MongoDB client; tenants' archive
   * databases behind their own URIs get clients of their own, opened when first read and closed with the rest.
   */
  importDeps(): Promise<ImportDeps> {
    this.archive ??= this.openImportDeps();
    return this.archive;
  }

  /** The master-key ring; `ERR_MASTER_KEYS_MISSING` when `RETENTION_MASTER_KEYS` is not set. */
  keyring(): Keyring {
    this.ring ??= keyringFromConfig(this.config);
    return this.ring;
  }

  /** An SFTP target at a location the operator named (e.g. for `verify`); it connects on first use. */
  sftpTarget(options: SftpTargetOptions): Target {
    const target = new SftpTarget(options);
    this.targets.push(target);
    return target;
  }

  /** Ends every connection opened so far; later calls do nothing. The first failure is thrown after all were tried. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures: unknown[] = [];
    const steps: (() => Promise<void> | void)[] = [
      ...this.targets.map((target) => () => target.close()),
      () => this.exportQueues?.close(),
      () => this.archiveQueues?.close(),
      () => this.redis?.disconnect(),
      () =>
        this.archive?.then(
          (deps) => deps.archives.close(),
          () => undefined,
        ),
      () =>
        this.mongo?.then(
          (client) => client.close(),
          () => undefined,
        ),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  private mongoClient(): Promise<MongoClient> {
    this.mongo ??= MongoClient.connect(this.config.mongodbUrl, { serverSelectionTimeoutMS: 5_000 });
    return this.mongo;
  }

  private connection(): Redis {
    this.redis ??= new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    return this.redis;
  }

  private async openControlPlane(): Promise<ControlPlane> {
    const client = await this.mongoClient();
    const plane = createControlPlane(client.db(this.config.mongodbDatabase), { passwordMinLengthFloor: this.config.passwordMinLengthFloor });
    await ensureControlPlaneIndexes(plane);
    return plane;
  }

  private async openImportDeps(): Promise<ImportDeps & { archives: ArchiveDatabases }> {
    const keyring = this.keyring();
    const client = await this.mongoClient();
    return buildImportDeps({
      client,
      db: client.db(this.config.mongodbDatabase),
      controlPlane: await this.controlPlane(),
      archiveDbPrefix: this.config.mongodbArchiveDbPrefix,
      keyring,
      destinations: destinationPolicyFromConfig(this.config),
      logger: pino({ level: 'silent' }),
      spoolDir: this.config.spoolDir,
      inflateLimits: this.config.importInflateLimits,
    });
  }
}
