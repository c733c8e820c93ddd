import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { Config } from '../config.js';
import { keyringFromConfig } from '../crypto/keyring-from-config.js';
import type { Keyring } from '../crypto/keyring.js';
import { createExportQueues, type ExportQueues } from '../queue/export-queues.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../store/control-plane.js';

/** Connections a CLI command may need, opened on first use and closed once at the end. */
export class CliServices {
  private mongo: MongoClient | undefined;
  private redis: Redis | undefined;
  private plane: ControlPlane | undefined;
  private exportQueues: ExportQueues | undefined;

  constructor(readonly config: Config) {}

  async controlPlane(): Promise<ControlPlane> {
    if (!this.plane) {
      this.mongo = await MongoClient.connect(this.config.mongodbUrl, { serverSelectionTimeoutMS: 5_000 });
      this.plane = createControlPlane(this.mongo.db(this.config.mongodbDatabase), { passwordMinLengthFloor: this.config.passwordMinLengthFloor });
      await ensureControlPlaneIndexes(this.plane);
    }
    return this.plane;
  }

  queues(): ExportQueues {
    if (!this.exportQueues) {
      this.redis = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
      this.exportQueues = createExportQueues(this.redis, this.config.queuePrefix);
    }
    return this.exportQueues;
  }

  keyring(): Keyring {
    return keyringFromConfig(this.config);
  }

  async close(): Promise<void> {
    await this.exportQueues?.close();
    this.redis?.disconnect();
    await this.mongo?.close();
  }
}
