import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDestinationAllowlist } from '../../../src/network/destination-allowlist.js';
import { NetworkPolicy } from '../../../src/network/network-policy.js';
import { createImportQueues, enqueueImport, enqueueRebuild, importJobId, type ImportQueues } from '../../../src/queue/import-queues.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { startImportWorkers, type ImportWorkers } from '../../../worker/import-workers.js';
import { staticResolver, TEST_ALLOWED_PRIVATE_DESTINATIONS } from '../../support/destinations.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';
import { pollUntil } from '../../support/poll-until.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';

const redis = createTestRedis();
const prefix = uniqueName('iad');
const mongoPort = Number(new URL(inject('mongoUrl')).port);
/**
 * The DNS the worker sees: `private.test` answers a private address; `rebind.test` answers a public one to the check
 * before connecting and a private one to the socket's lookup after it (a rebinding DNS server).
 */
const asked: Record<string, number> = {};
const resolve = staticResolver({
  'private.test': ['10.20.30.40'],
  'rebind.test': () => ((asked['rebind.test'] = (asked['rebind.test'] ?? 0) + 1) === 1 ? ['93.184.216.34'] : ['10.20.30.41']),
});
let harness: ImportHarness;
let queues: ImportQueues;
let workers: ImportWorkers;

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'), {
    // The test bed's allowance (loopback) and nothing else: the tenants' 10.x archives stay refused.
    network: new NetworkPolicy({ allowlist: parseDestinationAllowlist(TEST_ALLOWED_PRIVATE_DESTINATIONS), resolve }),
    clientOptions: { serverSelectionTimeoutMS: 600, connectTimeoutMS: 600 },
  });
  queues = createImportQueues(redis, prefix);
  workers = startImportWorkers(harness.deps, queues, redis, { stalledIntervalMs: 1_000, lockDurationMs: 5_000 });
});

afterAll(async () => {
  await workers?.close();
  await queues?.close();
  await harness?.close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

/** An online tenant whose own archive URI names `host`, with one manifest in its drop; returns the manifest path. */
async function tenantWithArchiveAt(tenant: string, host: string): Promise<string> {
  const drop = await harness.setUpTenant(tenant, {
    archiveMongoUri: harness.sealArchiveUri(tenant, `mongodb://arch:S3cret-pw@${host}:${mongoPort}/own_${tenant.replace(/-/g, '_')}`),
  });
  const from = new Date('2026-03-02T00:00:00Z');
  const contacts = [
    ...generateRecords({ seed: 5, tenantId: tenant, type: 'contacts', from, to: new Date('2026-03-02T06:00:00Z'), ratesPerHour: { contacts: 2 } }),
  ];
  return (await drop.deliver({ runId: 'r1', window: { from, to: new Date('2026-03-03T00:00:00Z') }, records: { contacts } })).path;
}

async function failedJob(job: () => Promise<Job | undefined>): Promise<Job> {
  const failed = await pollUntil(
    'the job to fail',
    async () => {
      const found = await job();
      return found !== undefined && (await found.isFailed()) ? found : undefined;
    },
    (found) => found !== undefined,
  );
  return failed as Job;
}

describe('archive jobs of a tenant whose own archive URI the policy refuses at connect time (issue #10.6)', () => {
  it.each([
    ['a host name resolving to a private address (refused before connecting)', 'iad-private', 'private.test'],
    ['a host name rebinding to a private address (refused by the socket lookup inside the driver)', 'iad-rebind', 'rebind.test'],
  ])('an import job for %s fails permanently on its first attempt with ERR_DESTINATION_NOT_ALLOWED', async (_label, tenant, host) => {
    const path = await tenantWithArchiveAt(tenant, host);
    await enqueueImport(queues, tenant, path);
    const job = await failedJob(() => queues.imports.getJob(importJobId(tenant, path)));
    expect(job.attemptsMade).toBe(1);
    expect(job.opts.attempts).toBeGreaterThan(1);
    expect(job.failedReason).toMatch(/^\[ERR_DESTINATION_NOT_ALLOWED\] archive MongoDB "(private|rebind)\.test" resolves to a private network/);
    expect(job.failedReason).not.toContain('S3cret-pw');
    const [record] = await harness.deps.imports.list(tenant);
    expect(record?.error?.code).toBe('ERR_DESTINATION_NOT_ALLOWED');
  });

  it('a rebuild job fails permanently on its first attempt with ERR_DESTINATION_NOT_ALLOWED, audited', async () => {
    const tenant = 'iad-rebuild';
    await tenantWithArchiveAt(tenant, 'private.test');
    const { jobId } = await enqueueRebuild(queues, tenant, { type: 'system', id: 'test' });
    const job = await failedJob(() => queues.maintenance.getJob(jobId));
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^\[ERR_DESTINATION_NOT_ALLOWED\] /);
    const audit = await pollUntil(
      'the failed rebuild audit',
      () => harness.controlPlane.audit.list(tenant, { action: 'archive.rebuilt' }),
      (entries) => entries.length > 0,
    );
    expect(audit[0]).toMatchObject({ outcome: 'failure', details: { code: 'ERR_DESTINATION_NOT_ALLOWED', attempts: 1 } });
  });
});
