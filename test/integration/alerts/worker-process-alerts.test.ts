import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ALERT_DIGEST_SCHEDULER_ID } from '../../../src/alerts/alert-digest-schedule.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { createMailQueue } from '../../../src/mail/mail-queue.js';
import { enqueueRunNow } from '../../../src/queue/export-queues.js';
import { startWorkerProcess, type WorkerProcess } from '../../../worker/worker-process.js';
import { dropTestDatabase, uniqueDbName } from '../../support/mongo.js';
import { pollUntil } from '../../support/poll-until.js';
import { cleanupPrefix, createTestRedis, TEST_REDIS_URL, uniqueName } from '../../support/redis.js';
import { parseMessage } from '../../support/smtp-server.js';
import { TEST_MASTER_KEYS } from '../mail/mail-fixture.js';

/**
 * The worker's composition root wires run alerts (issue 13.5): with mail settings (here the demo's `.eml` files), a
 * run that fails for good in a real worker process mails the tenant's owner, and the digest job is scheduled on the
 * mail queue.
 */

const redis = createTestRedis();
const prefix = uniqueName('alerts-proc');
const dbName = uniqueDbName('alerts_proc');
let mailDir: string;
let spoolDir: string;
let worker: WorkerProcess | undefined;
let mongo: MongoClient;

beforeAll(async () => {
  mailDir = await mkdtemp(join(tmpdir(), 'retention-alerts-mail-'));
  spoolDir = await mkdtemp(join(tmpdir(), 'retention-alerts-spool-'));
  mongo = await MongoClient.connect(inject('mongoUrl'));
  const loaded = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MONGODB_URL: inject('mongoUrl'),
    MONGODB_DATABASE: dbName,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    RETENTION_MASTER_KEYS: TEST_MASTER_KEYS,
    PUBLIC_URL: 'https://retention.example.com',
    SPOOL_DIR: spoolDir,
  });
  // As the demo does without SMTP_URL: every message is written as an .eml file.
  const config = Object.freeze({ ...loaded, mail: { from: 'Retention <retention@alerts.example>', transport: { kind: 'file' as const, directory: mailDir } } });
  worker = await startWorkerProcess(config, createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', name: 'alerts-proc' }), {
    stalledIntervalMs: 1_000,
    lockDurationMs: 5_000,
  });
});

afterAll(async () => {
  await worker?.stop(5_000);
  await cleanupPrefix(redis, prefix);
  await redis.quit();
  await dropTestDatabase(mongo, dbName);
  await mongo.close();
  await rm(mailDir, { recursive: true, force: true });
  await rm(spoolDir, { recursive: true, force: true });
});

describe('the worker process', () => {
  it('mails the owner when a run fails for good, and schedules the daily digest on the mail queue', async () => {
    const running = worker as WorkerProcess;
    const { controlPlane } = running;
    const tenantId = uniqueName('proc').toLowerCase();
    await controlPlane.tenants.create({ id: tenantId, displayName: 'Process Support' });
    await controlPlane.users.create(tenantId, { email: 'owner@process.example', displayName: 'Olga Owner', role: 'owner', passwordHash: 'not-used' });
    await controlPlane.settings.putRetention(
      tenantId,
      {
        mode: 'offline',
        dataTypes: ['contacts'],
        schedule: { cron: '0 2 1 1 *', timezone: 'UTC', pauseAfterFailures: 0 },
        source: { kind: 'demo', seed: 2, recordsPerHour: 2 },
        target: { kind: 'local', directory: '/srv/not-allowed' },
      },
      { actor: 'test' },
    );
    await enqueueRunNow(running.queues, tenantId);
    const [run] = await pollUntil(
      'the run failed',
      () => controlPlane.runs.listByTenant(tenantId, { limit: 1 }),
      (runs) => runs[0]?.status === 'failed',
      30_000,
    );
    const files = await pollUntil(
      'the run-failed message written',
      async () => (await readdir(mailDir)).filter((name) => name.endsWith('.eml')),
      (names) => names.length > 0,
      30_000,
    );
    expect(files).toHaveLength(1);
    const message = parseMessage(await readFile(join(mailDir, files[0] ?? ''), 'utf8'));
    expect(message.headers.get('to')).toBe('owner@process.example');
    expect(message.subject).toBe(`Archive run failed for Process Support (${run?.errors.at(-1)?.code ?? ''})`);
    expect(message.text).toContain(`https://${tenantId}.retention.example.com/jobs/${encodeURIComponent(run?.id ?? '')}`);

    const queue = createMailQueue(redis, prefix);
    try {
      expect((await queue.getJobScheduler(ALERT_DIGEST_SCHEDULER_ID))?.pattern).toBe('7 * * * *');
    } finally {
      await queue.close();
    }
  });
});
