import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserCapability } from '../../../src/store/users-store.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { createExportQueues, type ExportQueues } from '../../../src/queue/export-queues.js';
import { syncTenantSchedule } from '../../../src/queue/tenant-schedules.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from './portal-harness.js';

const queueRedis = createTestRedis();
const queuePrefix = uniqueName('jobs');
let queues: ExportQueues;
let h: PortalHarness;

const SETTINGS = {
  mode: 'offline',
  dataTypes: ['call-logs', 'chats'],
  schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin' },
  source: { kind: 'demo', seed: 1 },
  target: { kind: 'local', directory: '/srv/drop' },
};

beforeAll(async () => {
  queues = createExportQueues(queueRedis, queuePrefix);
  h = await startPortalHarness({}, { exportQueues: queues });
});
afterAll(async () => {
  await h?.close();
  await queues?.close();
  await cleanupPrefix(queueRedis, queuePrefix);
  await queueRedis.quit();
});

async function configuredTenant(pauseAfterFailures?: number): Promise<string> {
  const tenantId = await h.createTenant('jobs-co');
  const settings = pauseAfterFailures === undefined ? SETTINGS : { ...SETTINGS, schedule: { ...SETTINGS.schedule, pauseAfterFailures } };
  const saved = await h.controlPlane.settings.putRetention(tenantId, settings, { actor: 'test' });
  await syncTenantSchedule(queues.runs, tenantId, saved.value);
  return tenantId;
}

async function signedIn(tenantId: string, capabilities: UserCapability[], dataTypes: RecordType[] = ['call-logs', 'chats', 'contacts']): Promise<PortalClient> {
  const { client } = await h.signedIn(tenantId, { displayName: 'Admin', capabilities, dataTypes });
  await client.get('/');
  return client;
}

async function addRun(tenantId: string, shortId: string, at: Date, status: 'done' | 'failed', trigger: 'schedule' | 'backfill' = 'schedule'): Promise<void> {
  const id = `${tenantId}.${shortId}`;
  const windows = {
    'call-logs': { from: new Date(at.getTime() - 3_600_000), to: at },
    chats: { from: new Date(at.getTime() - 3_600_000), to: at },
  };
  await h.controlPlane.runs.createIfAbsent({ id, tenantId, trigger, windows, previous: null, chunkCount: 2, createdAt: at });
  if (status === 'failed') {
    await h.controlPlane.runs.markFailed(
      tenantId,
      id,
      { code: 'ERR_TARGET_UNREACHABLE', message: 'SFTP server refused the connection' },
      new Date(at.getTime() + 1000),
    );
    return;
  }
  await h.controlPlane.runs.markDone(
    tenantId,
    id,
    {
      manifest: { runId: id, path: `/drop/${tenantId}/manifest-${id}.json`, sha256: 'a'.repeat(64) },
      files: [
        {
          path: `/drop/${tenantId}/call-logs/call-logs-secret-part.json.gz`,
          type: 'call-logs',
          kind: 'records',
          records: 7,
          bytes: 7777,
          sha256: 'b'.repeat(64),
        },
        { path: `/drop/${tenantId}/chats/chats-part.json.gz`, type: 'chats', kind: 'records', records: 5, bytes: 5555, sha256: 'c'.repeat(64) },
      ],
      totals: { 'call-logs': { records: 7, rejected: 0, files: 1, bytes: 7777 }, chats: { records: 5, rejected: 1, files: 1, bytes: 5555 } },
    },
    new Date(at.getTime() + 1000),
  );
}

/** A run still going: chunks 0 of chats and 0 of call-logs delivered (the chats one twice, as a retried chunk would), 1 of 3 left. */
async function addRunningRun(tenantId: string, shortId: string, at: Date): Promise<string> {
  const id = `${tenantId}.${shortId}`;
  const windows = { 'call-logs': { from: new Date(at.getTime() - 3_600_000), to: at }, chats: { from: new Date(at.getTime() - 3_600_000), to: at } };
  await h.controlPlane.runs.createIfAbsent({ id, tenantId, trigger: 'schedule', windows, previous: null, chunkCount: 3, createdAt: at });
  await h.controlPlane.runs.recordChunkDone(tenantId, id, { type: 'chats', index: 0, records: 40, rejected: 2, bytes: 4096 }, new Date(at.getTime() + 1000));
  await h.controlPlane.runs.recordChunkDone(tenantId, id, { type: 'chats', index: 0, records: 40, rejected: 2, bytes: 4096 }, new Date(at.getTime() + 2000));
  await h.controlPlane.runs.recordChunkDone(tenantId, id, { type: 'call-logs', index: 0, records: 9, rejected: 0, bytes: 1024 }, new Date(at.getTime() + 3000));
  return id;
}

const REFRESH_META = '<meta http-equiv="refresh" content="5">';

async function runJobsOf(tenantId: string) {
  return (await queues.runs.getJobs(['waiting', 'delayed', 'prioritized'])).filter((job) => job.data.tenantId === tenantId && job.data.trigger !== 'schedule');
}

describe('portal: jobs', () => {
  it.each([
    ['GET', '/jobs', [], 403],
    ['GET', '/jobs', ['configure-retention'], 200],
    ['GET', '/jobs', ['run-jobs'], 200],
    ['GET', '/jobs/unknown-run', ['run-jobs'], 404],
    ['GET', '/jobs/unknown-run', [], 403],
    ['POST', '/jobs/run-now', [], 403],
    ['POST', '/jobs/run-now', ['configure-retention'], 403],
    ['POST', '/jobs/run-now', ['run-jobs'], 303],
    ['POST', '/jobs/backfill', ['configure-retention'], 403],
    ['POST', '/jobs/pause', ['configure-retention', 'export'], 403],
    ['POST', '/jobs/pause', ['run-jobs'], 303],
    ['POST', '/jobs/resume', ['read-audit'], 403],
    ['POST', '/jobs/resume', ['run-jobs'], 303],
    ['POST', '/jobs/some-run/retry', ['configure-retention'], 403],
    ['POST', '/jobs/some-run/retry', ['run-jobs'], 404],
  ] as const)('%s %s with %j answers %i', async (method, path, capabilities, status) => {
    const tenantId = await configuredTenant();
    const client = await signedIn(tenantId, [...capabilities]);
    const res = method === 'GET' ? await client.get(path) : await client.post(path, {});
    expect(res.status).toBe(status);
  });

  it('lists runs with windows, per-type counts and bytes of readable types only, errors and manifest; the detail too', async () => {
    const tenantId = await configuredTenant();
    await addRun(tenantId, 'run-ok-1', new Date('2026-03-01T02:00:00Z'), 'done');
    await addRun(tenantId, 'run-bad-2', new Date('2026-03-02T02:00:00Z'), 'failed');
    const chatsOnly = await signedIn(tenantId, ['run-jobs'], ['chats']);
    const list = await chatsOnly.get('/jobs');
    expect(list.status).toBe(200);
    expect(list.text).toContain('Chats: 5 records, 1 rejected, 5.4 KB');
    expect(list.text).not.toContain('Call logs:');
    expect(list.text).toContain(`manifest-${tenantId}.run-ok-1.json`);
    expect(list.text).toContain('ERR_TARGET_UNREACHABLE');
    expect(list.text).toContain(`action="/jobs/${tenantId}.run-bad-2/retry"`);
    expect(list.text).toContain('0 2 * * *');

    const detail = await chatsOnly.get(`/jobs/${tenantId}.run-ok-1`);
    expect(detail.status).toBe(200);
    expect(detail.text).toContain('chats-part.json.gz');
    expect(detail.text).not.toContain('call-logs-secret-part');
    expect(detail.text).not.toContain('7777');

    const viewer = await signedIn(tenantId, ['configure-retention']);
    const viewed = await viewer.get('/jobs');
    expect(viewed.status).toBe(200);
    expect(viewed.text).not.toContain('action="/jobs/run-now"');
    expect(viewed.text).not.toContain('/retry"');

    const otherTenant = await configuredTenant();
    const outsider = await signedIn(otherTenant, ['run-jobs']);
    expect((await outsider.get(`/jobs/${tenantId}.run-ok-1`)).status).toBe(404);
    expect((await outsider.post(`/jobs/${tenantId}.run-bad-2/retry`, {})).status).toBe(404);
    expect((await outsider.get('/jobs')).text).not.toContain(`${tenantId}.run-ok-1`);
  });

  it('run now adds a manual run job to the Redis queue and audits it', async () => {
    const tenantId = await configuredTenant();
    const client = await signedIn(tenantId, ['run-jobs']);
    const res = await client.post('/jobs/run-now', {});
    expect(res.status).toBe(303);
    const jobs = await runJobsOf(tenantId);
    expect(jobs.map((job) => job.data)).toEqual([{ tenantId, trigger: 'manual' }]);
    expect(jobs[0]?.opts.attempts).toBe(5);
    const audit = await h.controlPlane.audit.list(tenantId, { action: 'job.run-now' });
    expect(audit[0]?.target).toBe(jobs[0]?.id);
  });

  it('backfill adds a run job with the range (UTC days, both included) and the chosen types', async () => {
    const tenantId = await configuredTenant();
    const client = await signedIn(tenantId, ['run-jobs']);
    const res = await client.post('/jobs/backfill', { from: '2026-01-01', to: '2026-01-31', types: ['chats'] });
    expect(res.status).toBe(303);
    const jobs = await runJobsOf(tenantId);
    expect(jobs.map((job) => job.data)).toEqual([
      { tenantId, trigger: 'backfill', backfill: { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' }, types: ['chats'] },
    ]);
    expect(await h.controlPlane.audit.list(tenantId, { action: 'job.backfill' })).toHaveLength(1);
  });

  it.each([
    [{ from: '', to: '2026-01-02', types: ['chats'] }, 'From: enter a date'],
    [{ from: '2026-13-01', to: '2026-01-02', types: ['chats'] }, 'From: &#34;2026-13-01&#34; is not a date'],
    [{ from: '2026-02-30', to: '2026-03-02', types: ['chats'] }, 'is not a date'],
    [{ from: '2026-01-05', to: '2026-01-02', types: ['chats'] }, 'To: must be on or after From.'],
    [{ from: '2020-01-01', to: '2026-01-02', types: ['chats'] }, 'at most 366 days'],
    [{ from: '2026-01-01', to: '2999-01-02', types: ['chats'] }, 'To: must not be in the future.'],
    [{ from: '2026-01-01', to: '2026-01-02', types: [] }, 'Data types: choose at least one.'],
    [{ from: '2026-01-01', to: '2026-01-02', types: ['contacts'] }, 'contacts is not archived'],
    [{ from: '2026-01-01', to: '2026-01-02', types: ['$where'] }, 'unknown type'],
  ])('backfill %j is refused with "%s" and queues nothing', async (form, message) => {
    const tenantId = await configuredTenant();
    const client = await signedIn(tenantId, ['run-jobs']);
    const res = await client.post('/jobs/backfill', form);
    expect(res.status).toBe(400);
    expect(res.text).toContain(message);
    expect(res.text).toContain(`value="${form.from}"`);
    expect(await runJobsOf(tenantId)).toHaveLength(0);
  });

  it('pause removes the job scheduler and resume brings it back, both saved in the settings and audited', async () => {
    const tenantId = await configuredTenant();
    const client = await signedIn(tenantId, ['run-jobs']);
    expect(await queues.runs.getJobScheduler(`tenant.${tenantId}`)).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Berlin' });
    expect((await client.post('/jobs/pause', {})).status).toBe(303);
    expect(await queues.runs.getJobScheduler(`tenant.${tenantId}`)).toBeUndefined();
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.schedule.paused).toBe(true);
    expect((await client.get('/jobs')).text).toContain('Resume the schedule');
    expect((await client.post('/jobs/resume', {})).status).toBe(303);
    expect(await queues.runs.getJobScheduler(`tenant.${tenantId}`)).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Berlin' });
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.schedule.paused).toBe(false);
    const actions = (await h.controlPlane.audit.list(tenantId)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['schedule.paused', 'schedule.resumed']));
  });

  it('retry of a failed run queues a new run planned from the checkpoints; a backfill is queued again with its range; a done run is not retried', async () => {
    const tenantId = await configuredTenant();
    await addRun(tenantId, 'run-done', new Date('2026-03-01T02:00:00Z'), 'done');
    await addRun(tenantId, 'run-failed', new Date('2026-03-02T02:00:00Z'), 'failed');
    await addRun(tenantId, 'run-backfill', new Date('2026-03-04T02:00:00Z'), 'failed', 'backfill');
    const client = await signedIn(tenantId, ['run-jobs']);

    expect((await client.post(`/jobs/${tenantId}.run-done/retry`, {})).status).toBe(303);
    expect(await runJobsOf(tenantId)).toHaveLength(0);
    expect((await client.follow(`/jobs/${tenantId}.run-done`)).text).toContain('Only a failed run can be retried');

    expect((await client.post(`/jobs/${tenantId}.run-failed/retry`, {})).status).toBe(303);
    expect((await runJobsOf(tenantId)).map((job) => job.data)).toEqual([{ tenantId, trigger: 'manual' }]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await client.post(`/jobs/${tenantId}.run-backfill/retry`, {})).status).toBe(303);
    const backfill = (await runJobsOf(tenantId)).find((job) => job.data.trigger === 'backfill');
    expect(backfill?.data).toEqual({
      tenantId,
      trigger: 'backfill',
      backfill: { from: '2026-03-04T01:00:00.000Z', to: '2026-03-04T02:00:00.000Z' },
      types: ['call-logs', 'chats'],
    });
    expect((await h.controlPlane.audit.list(tenantId, { action: 'job.retried' })).map((e) => e.target).sort()).toEqual([
      `${tenantId}.run-backfill`,
      `${tenantId}.run-failed`,
    ]);
  });

  it('offers Retry only on a failed run that can still be retried: not once a later run covered its windows again (issue 16.9)', async () => {
    const tenantId = await configuredTenant();
    await addRun(tenantId, 'run-failed-old', new Date('2026-03-05T02:00:00Z'), 'failed');
    await addRun(tenantId, 'run-covering', new Date('2026-03-06T02:00:00Z'), 'done');
    await addRun(tenantId, 'run-failed-new', new Date('2026-03-07T02:00:00Z'), 'failed');
    await addRun(tenantId, 'run-backfill-failed', new Date('2026-03-08T02:00:00Z'), 'failed', 'backfill');
    const client = await signedIn(tenantId, ['run-jobs']);
    const list = await client.get('/jobs');
    expect(list.text).toContain(`action="/jobs/${tenantId}.run-failed-new/retry"`);
    expect(list.text, 'a backfill is not covered by scheduled runs').toContain(`action="/jobs/${tenantId}.run-backfill-failed/retry"`);
    expect(list.text).not.toContain(`action="/jobs/${tenantId}.run-failed-old/retry"`);
    const detail = await client.get(`/jobs/${tenantId}.run-failed-old`);
    expect(detail.text).not.toContain('/retry"');
    expect(detail.text).toContain('A later run has covered this run&#39;s windows again');
    expect((await client.post(`/jobs/${tenantId}.run-failed-old/retry`, {})).status).toBe(303);
    expect(await runJobsOf(tenantId)).toHaveLength(0);
    expect((await client.follow(`/jobs/${tenantId}.run-failed-old`)).text).toContain('it needs no retry');
    // Older pages know the newer runs too.
    const older = await client.get(`/jobs?before=${encodeURIComponent('2026-03-06T02:00:00.000Z')}`);
    expect(older.text).toContain(`${tenantId}.run-failed-old`);
    expect(older.text).not.toContain(`action="/jobs/${tenantId}.run-failed-old/retry"`);
  });

  it('after 3 failed runs in a row the jobs page shows an alert and the schedule is paused', async () => {
    const tenantId = await configuredTenant();
    await addRun(tenantId, 'r1', new Date('2026-03-01T02:00:00Z'), 'done');
    for (const [i, day] of ['02', '03', '04'].entries()) await addRun(tenantId, `f${i}`, new Date(`2026-03-${day}T02:00:00Z`), 'failed');
    const client = await signedIn(tenantId, ['run-jobs']);
    const page = await client.get('/jobs');
    expect(page.text).toContain('role="alert"');
    expect(page.text).toContain('The last 3 runs failed.');
    expect(page.text).toContain('The schedule was paused');
    expect(await queues.runs.getJobScheduler(`tenant.${tenantId}`)).toBeUndefined();
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.schedule.paused).toBe(true);

    const healthy = await configuredTenant();
    await addRun(healthy, 'f1', new Date('2026-03-02T02:00:00Z'), 'failed');
    await addRun(healthy, 'ok', new Date('2026-03-03T02:00:00Z'), 'done');
    const other = await signedIn(healthy, ['run-jobs']);
    expect((await other.get('/jobs')).text).not.toContain('runs failed.');
  });

  it('follows the tenant’s own limit: after 2 failed runs with pauseAfterFailures 2; never with 0', async () => {
    const strict = await configuredTenant(2);
    for (const [i, day] of ['02', '03'].entries()) await addRun(strict, `f${i}`, new Date(`2026-03-${day}T02:00:00Z`), 'failed');
    const page = await (await signedIn(strict, ['run-jobs'])).get('/jobs');
    expect(page.text).toContain('The last 2 runs failed.');
    expect((await h.controlPlane.settings.requireRetention(strict)).value.schedule.paused).toBe(true);

    const never = await configuredTenant(0);
    for (const [i, day] of ['02', '03', '04', '05'].entries()) await addRun(never, `f${i}`, new Date(`2026-03-${day}T02:00:00Z`), 'failed');
    expect((await (await signedIn(never, ['run-jobs'])).get('/jobs')).text).not.toContain('runs failed.');
    expect((await h.controlPlane.settings.requireRetention(never)).value.schedule.paused).toBe(false);
  });

  it("shows a running run's progress (chunks done of all, records and bytes so far) and refreshes the page while it runs", async () => {
    const tenantId = await configuredTenant();
    await addRun(tenantId, 'run-old', new Date('2026-03-01T02:00:00Z'), 'done');
    const id = await addRunningRun(tenantId, 'run-live', new Date('2026-03-02T02:00:00Z'));
    const client = await signedIn(tenantId, ['run-jobs']);

    const list = await client.get('/jobs');
    expect(list.status).toBe(200);
    expect(list.text).toContain(REFRESH_META);
    expect(list.text).toContain('This page refreshes every 5 seconds while a run is going.');
    expect(list.text).toContain('href="/jobs?refresh=off"');
    expect(list.text).toContain('<progress value="2" max="3"');
    expect(list.text).toContain('2 of 3 chunks, 49 records, 5.0 KB so far');
    expect(list.text).toContain('Chats: 40 records, 2 rejected, 4.0 KB so far');
    expect(list.text).toContain('Chats: 5 records, 1 rejected, 5.4 KB</div>');

    const detail = await client.get(`/jobs/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.text).toContain(REFRESH_META);
    expect(detail.text).toContain('<progress value="2" max="3"');
    expect(detail.text).toContain('2 of 3 delivered');
    expect(detail.text).toContain('Delivered so far');
    expect(detail.text).toContain(`href="/jobs/${id}?refresh=off"`);
    expect(detail.text).not.toMatch(/style=/);

    const finished = await client.get(`/jobs/${tenantId}.run-old`);
    expect(finished.text).not.toContain('http-equiv="refresh"');
    expect(finished.text).not.toContain('<progress');
    expect(finished.text).not.toContain('refreshes every');
    expect(finished.text).toContain('Totals');
  });

  it('sums the progress of readable types only', async () => {
    const tenantId = await configuredTenant();
    const id = await addRunningRun(tenantId, 'run-live', new Date('2026-03-02T02:00:00Z'));
    const callLogsOnly = await signedIn(tenantId, ['run-jobs'], ['call-logs']);
    const list = await callLogsOnly.get('/jobs');
    expect(list.text).toContain('2 of 3 chunks, 9 records, 1.0 KB so far');
    expect(list.text).toContain('Call logs: 9 records, 1.0 KB so far');
    expect(list.text).not.toContain('Chats:');
    expect(list.text).not.toContain('4.0 KB');
    expect((await callLogsOnly.get(`/jobs/${id}`)).text).not.toContain('4.0 KB');
  });

  it('does not refresh when no shown run is running, when turned off, or on a form answer', async () => {
    const tenantId = await configuredTenant();
    await addRun(tenantId, 'run-ok', new Date('2026-03-01T02:00:00Z'), 'done');
    await addRun(tenantId, 'run-bad', new Date('2026-03-02T02:00:00Z'), 'failed');
    const client = await signedIn(tenantId, ['run-jobs']);
    const quiet = await client.get('/jobs');
    expect(quiet.text).not.toContain('http-equiv="refresh"');
    expect(quiet.text).not.toContain('<progress');
    expect(quiet.text).not.toContain('refreshes every');
    expect((await client.get(`/jobs/${tenantId}.run-bad`)).text).toContain('0 of 2 delivered before the run failed');

    const id = await addRunningRun(tenantId, 'run-live', new Date('2026-03-03T02:00:00Z'));
    const off = await client.get('/jobs?refresh=off');
    expect(off.text).not.toContain('http-equiv="refresh"');
    expect(off.text).toContain('Refreshing is off while a run is going.');
    expect(off.text).toContain('href="/jobs"');
    expect(off.text).toContain('<progress value="2" max="3"');
    expect((await client.get(`/jobs/${id}?refresh=off`)).text).not.toContain('http-equiv="refresh"');
    expect((await client.get('/jobs?refresh=yes')).text).toContain(REFRESH_META);

    const answer = await client.post('/jobs/backfill', { from: '', to: '2026-01-02', types: ['chats'] });
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('<progress value="2" max="3"');
    expect(answer.text).not.toContain('http-equiv="refresh"');
  });

  it('the nav shows Jobs and Retention by capability', async () => {
    const tenantId = await configuredTenant();
    const runner = await signedIn(tenantId, ['run-jobs']);
    const page = (await runner.get('/')).text;
    expect(page).toContain('href="/jobs"');
    expect(page).not.toContain('href="/settings/retention"');
    const none = await signedIn(tenantId, []);
    expect((await none.get('/')).text).not.toContain('href="/jobs"');
  });
});
