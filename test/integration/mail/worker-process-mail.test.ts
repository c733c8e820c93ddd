import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { outboxMessageId } from '../../../src/mail/mail-sender.js';
import { pollUntil } from '../../support/poll-until.js';
import { TEST_REDIS_URL } from '../../support/redis.js';
import { startTestSmtpServer, type TestSmtpServer } from '../../support/smtp-server.js';
import { startMailFixture, TEST_FROM, TEST_MASTER_KEYS, type MailFixture } from './mail-fixture.js';

/**
 * The worker process (`worker/worker-process.ts`, configured from the environment like `npm run worker`) runs the mail
 * queue's worker: SMTP_URL with STARTTLS, the test server's certificate trusted the way the README tells operators
 * with a private CA (NODE_EXTRA_CA_CERTS), messages queued by another process sent once each.
 */

let smtp: TestSmtpServer;
let fx: MailFixture;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  fx = await startMailFixture({ attempts: 3, backoffMs: 200 });
  dir = await mkdtemp(join(tmpdir(), 'retention-mail-ca-'));
  await writeFile(join(dir, 'ca.pem'), smtp.ca);
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await fx?.close();
  await smtp?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the worker process sends the outbox', () => {
  it('sends messages another process queued, over verified STARTTLS, once each, and stops on SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      MONGODB_URL: inject('mongoUrl'),
      MONGODB_DATABASE: fx.db.databaseName,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: fx.prefix,
      RETENTION_MASTER_KEYS: TEST_MASTER_KEYS,
      SMTP_URL: `smtp://${smtp.host}:${smtp.port}?tls=starttls`,
      MAIL_FROM: TEST_FROM,
      NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
    };
    child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-child.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const running = child;
    await new Promise<void>((resolve, reject) => {
      running.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      running.once('exit', (code) => reject(new Error(`worker child exited early with ${code}`)));
    });

    const tenantId = await fx.createTenant('Process Support');
    const queued = await Promise.all(['p1', 'p2', 'p3'].map((name) => fx.outbox.enqueue(fx.invitation(tenantId, `${name}@process.example`))));
    await pollUntil(
      'every message sent by the worker process',
      () => Promise.all(queued.map(({ id }) => fx.store.findById(tenantId, id))),
      (messages) => messages.every((m) => m?.status === 'sent'),
      30_000,
    );
    for (const { id } of queued) {
      expect(smtp.countByMessageId(outboxMessageId(id, TEST_FROM))).toBe(1);
      expect(smtp.received.find((m) => m.messageId === outboxMessageId(id, TEST_FROM))?.secure).toBe(true);
    }

    running.kill('SIGTERM');
    expect(await new Promise((resolve) => running.once('exit', resolve))).toBe(0);
  }, 60_000);
});
