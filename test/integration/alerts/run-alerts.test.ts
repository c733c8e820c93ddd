import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ALERT_DIGEST_SCHEDULER_ID, DEFAULT_ALERT_DIGEST_CRON, scheduleAlertDigests } from '../../../src/alerts/alert-digest-schedule.js';
import type { AlertEvent, AlertSink } from '../../../src/alerts/alert-event.js';
import type { AlertDelivery } from '../../../src/alerts/alert-settings.js';
import { createMailQueue } from '../../../src/mail/mail-queue.js';
import type { Run } from '../../../src/store/runs-store.js';
import { planRun } from '../../../worker/processors/run-processor.js';
import { createExportHarness, type ExportHarness } from '../../support/export-harness.js';
import { pollUntil } from '../../support/poll-until.js';
import { portalUrlOf, startAlertTestBed, type AlertTestBed } from './alert-test-bed.js';

/**
 * Run alerts from the worker (issue 13.5) through real export workers, the real outbox, mail worker and a loopback
 * SMTP server: a run failing for good mails each recipient once, a pause of the schedule mails schedule-paused, the
 * owner gets them until anything is saved, an empty list mails nobody, a daily digest replaces the messages of the day
 * with one digest, and an outbox (or alert sink) that fails changes nothing of how the failure is recorded.
 */

let harness: ExportHarness;
let bed: AlertTestBed;
/** Tenants whose alert sink throws outright (a broken sink, not just a failing outbox). */
const brokenSinkTenants = new Set<string>();

beforeAll(async () => {
  harness = await createExportHarness(inject('mongoUrl'), { options: { initialLookbackMs: 2 * 3600_000, sliceMs: 3600_000 } });
  bed = await startAlertTestBed(() => harness.controlPlane);
  const sink: AlertSink = {
    raise: (event: AlertEvent) => (brokenSinkTenants.has(event.tenantId) ? Promise.reject(new Error('the alert sink is broken')) : bed.sink.raise(event)),
  };
  harness.deps.alerts = sink;
  harness.startWorkers();
});

afterAll(async () => {
  await harness?.close();
  await bed?.close();
});

interface TenantSetup {
  /** Failed runs in a row that pause the schedule; default 0 (never). */
  pauseAfterFailures?: number;
  /** Saved alert settings; absent: none saved (the owner gets each event). */
  alerts?: { recipients: string[]; delivery: AlertDelivery };
}

/** A tenant whose runs fail for good at their first chunk (a local target outside the operator's base directory). */
async function failingTenant(name: string, setup: TenantSetup = {}): Promise<{ tenantId: string; owner: string }> {
  const tenantId = `${name}-${randomBytes(3).toString('hex')}`;
  const owner = `owner@${tenantId}.example`;
  await harness.controlPlane.tenants.create({ id: tenantId, displayName: `${name} Support` });
  await harness.controlPlane.users.create(tenantId, { email: owner, displayName: 'Olga Owner', role: 'owner', passwordHash: 'not-used' });
  await harness.controlPlane.settings.putRetention(
    tenantId,
    {
      mode: 'offline',
      dataTypes: ['chats'],
      schedule: { cron: '0 2 * * *', timezone: 'UTC', pauseAfterFailures: setup.pauseAfterFailures ?? 0 },
      source: { kind: 'demo', seed: 3, recordsPerHour: 5 },
      target: { kind: 'local', directory: `/srv/retention-alerts-outside/${tenantId}` },
    },
    { actor: 'test' },
  );
  if (setup.alerts !== undefined) await harness.controlPlane.alertSettings.put(tenantId, setup.alerts, { actor: 'test', expectedVersion: 0 });
  return { tenantId, owner };
}

/** Runs the tenant now and waits until the run failed and every chunk of it has ended. */
async function failedRun(tenantId: string): Promise<Run> {
  const planned = await planRun(harness.deps, harness.queues, { tenantId, trigger: 'manual' });
  if (planned.status !== 'planned') throw new Error(`not planned: ${planned.status}`);
  const run = await harness.waitForRun(tenantId, planned.runId);
  expect(run.status).toBe('failed');
  expect(run.errors.at(-1)?.code).toBe('ERR_LOCAL_TARGET_OUTSIDE_BASE');
  await pollUntil(
    `the chunks of ${run.id} ended`,
    async () => (await harness.queues.chunks.getJobs(['waiting', 'active', 'delayed', 'prioritized'])).filter((job) => job.data.runId === run.id).length,
    (pending) => pending === 0,
  );
  await pollUntil(
    `the tenant freed by ${run.id}`,
    () => harness.controlPlane.checkpoints.get(tenantId),
    (checkpoint) => checkpoint.activeRunId === null,
  );
  return run;
}

const raisedOf = (tenantId: string) => bed.raised.filter((entry) => entry.event.tenantId === tenantId);

describe('run alerts from the worker', () => {
  it('mails each recipient exactly one run-failed message for a run that failed for good, with the run’s link', async () => {
    const { tenantId, owner } = await failingTenant('alert-run', {
      alerts: { recipients: ['oncall@ops.example', 'lead@ops.example'], delivery: 'each-event' },
    });
    const run = await failedRun(tenantId);
    expect(run.chunkCount).toBeGreaterThan(1);
    await bed.raisedFor(tenantId, 'run-failed');
    await sleep(300);

    const delivered = await bed.deliveredTo(tenantId, 2);
    expect(delivered.map((mail) => mail.recipients[0]).sort()).toEqual(['lead@ops.example', 'oncall@ops.example']);
    expect(delivered.map((mail) => mail.recipients[0])).not.toContain(owner);
    const link = `${portalUrlOf(tenantId)}/jobs/${encodeURIComponent(run.id)}`;
    for (const mail of delivered) {
      expect(mail.message.template).toBe('run-failed');
      expect(mail.subject).toBe('Archive run failed for alert-run Support (ERR_LOCAL_TARGET_OUTSIDE_BASE)');
      expect(mail.text).toContain(`Run:     ${run.id} (manual)`);
      expect(mail.text).toContain('ERR_LOCAL_TARGET_OUTSIDE_BASE: ');
      expect(mail.text).toContain(link);
      expect(mail.text).toContain('Retry this run');
      expect(mail.html).toContain(`href="${link}"`);
    }
    // One alert per run, however many of its chunks failed.
    expect(raisedOf(tenantId).map((entry) => [entry.event.kind, entry.outcome])).toEqual([['run-failed', { status: 'queued', queued: 2, failed: 0 }]]);
  });

  it('mails the owner while nothing is saved: run-failed, then schedule-paused when the failure pauses the schedule', async () => {
    const { tenantId, owner } = await failingTenant('alert-pause', { pauseAfterFailures: 1 });
    const run = await failedRun(tenantId);
    await bed.raisedFor(tenantId, 'schedule-paused');
    expect((await harness.controlPlane.settings.requireRetention(tenantId)).value.schedule.paused).toBe(true);

    const delivered = await bed.deliveredTo(tenantId, 2);
    expect(delivered.map((mail) => mail.recipients)).toEqual([[owner], [owner]]);
    expect(delivered.map((mail) => mail.message.template)).toEqual(['run-failed', 'schedule-paused']);
    const paused = delivered[1];
    expect(paused?.subject).toBe('Archive schedule of alert-pause Support paused after 1 failed run');
    expect(paused?.text).toContain(`Last failed run: ${run.id}`);
    expect(paused?.text).toContain('ERR_LOCAL_TARGET_OUTSIDE_BASE');
    expect(paused?.text).toContain(`${portalUrlOf(tenantId)}/jobs/${encodeURIComponent(run.id)}`);
    expect(paused?.text).toContain(`"Resume the schedule" there: ${portalUrlOf(tenantId)}/jobs`);
    expect(paused?.html).toContain(`href="${portalUrlOf(tenantId)}/jobs"`);
  });

  it('mails nobody when the saved list is empty (alerts off)', async () => {
    const { tenantId } = await failingTenant('alert-off', { pauseAfterFailures: 1, alerts: { recipients: [], delivery: 'each-event' } });
    await failedRun(tenantId);
    await bed.raisedFor(tenantId, 'schedule-paused');
    expect(raisedOf(tenantId).map((entry) => entry.outcome)).toEqual([
      { status: 'not-sent', reason: 'alerts-off' },
      { status: 'not-sent', reason: 'alerts-off' },
    ]);
    expect(await bed.fx.store.listByTenant(tenantId, { limit: 10 })).toEqual([]);
  });

  it('with a daily digest, records the day’s events instead of mailing them, then sends one digest listing them all, once', async () => {
    const { tenantId } = await failingTenant('alert-digest', { pauseAfterFailures: 2, alerts: { recipients: ['ops@ops.example'], delivery: 'daily-digest' } });
    const first = await failedRun(tenantId);
    await bed.raisedFor(tenantId, 'run-failed');
    const second = await failedRun(tenantId);
    await bed.raisedFor(tenantId, 'schedule-paused');
    expect(raisedOf(tenantId).map((entry) => [entry.event.kind, entry.outcome.status])).toEqual([
      ['run-failed', 'recorded'],
      ['run-failed', 'recorded'],
      ['schedule-paused', 'recorded'],
    ]);
    expect(await bed.fx.store.listByTenant(tenantId, { limit: 10 })).toEqual([]);

    // The day is not over yet: nothing is sent.
    bed.digestNow = new Date();
    expect((await bed.runDigestJob()).digests).toBe(0);
    expect(await bed.fx.store.listByTenant(tenantId, { limit: 10 })).toEqual([]);

    bed.digestNow = new Date(Date.now() + 86_400_000);
    const outcome = await bed.runDigestJob();
    expect(outcome.digests).toBeGreaterThanOrEqual(1);
    const [digest] = await bed.deliveredTo(tenantId, 1);
    expect(digest?.recipients).toEqual(['ops@ops.example']);
    expect(digest?.message.template).toBe('alert-digest');
    expect(digest?.subject).toMatch(/^Retention alerts for alert-digest Support: 3 alerts on \w+day \d{1,2} \w+ \d{4} \(UTC\)$/);
    const lines = (digest?.text ?? '').split('\n').filter((line) => line.startsWith('- '));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain(`Run ${first.id} (manual) failed: ERR_LOCAL_TARGET_OUTSIDE_BASE`);
    expect(lines[0]).toContain(`${portalUrlOf(tenantId)}/jobs/${encodeURIComponent(first.id)}`);
    expect(lines[1]).toContain(`Run ${second.id} (manual) failed`);
    expect(lines[2]).toContain('The schedule was paused after 2 failed runs in a row');
    expect(digest?.html).toContain(`<a href="${portalUrlOf(tenantId)}/jobs/${encodeURIComponent(first.id)}">details</a>`);

    // Another pass (another hour, another worker) sends nothing more.
    const again = await bed.runDigestJob();
    expect(again.messages).toBe(0);
    await sleep(300);
    expect(await bed.fx.store.listByTenant(tenantId, { limit: 10 })).toHaveLength(1);
    expect((await harness.controlPlane.alertEvents.listPendingDays()).filter((pending) => pending.tenantId === tenantId)).toEqual([]);
  });

  it('keeps the digest job scheduled on the mail queue, once, however often a worker upserts it', async () => {
    await scheduleAlertDigests(bed.fx.redis, bed.fx.prefix);
    await scheduleAlertDigests(bed.fx.redis, bed.fx.prefix);
    const queue = createMailQueue(bed.fx.redis, bed.fx.prefix);
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.filter((scheduler) => scheduler.key === ALERT_DIGEST_SCHEDULER_ID)).toHaveLength(1);
      expect(schedulers.find((scheduler) => scheduler.key === ALERT_DIGEST_SCHEDULER_ID)?.pattern).toBe(DEFAULT_ALERT_DIGEST_CRON);
      await queue.removeJobScheduler(ALERT_DIGEST_SCHEDULER_ID);
    } finally {
      await queue.close();
    }
  });
});

describe('an alert that cannot be queued', () => {
  it('changes nothing of the failure’s handling when the outbox throws: run failed, tenant freed, audited, schedule paused', async () => {
    const { tenantId } = await failingTenant('alert-outbox-down', { pauseAfterFailures: 1 });
    bed.failingTenants.add(tenantId);
    const run = await failedRun(tenantId);
    await bed.raisedFor(tenantId, 'schedule-paused');
    expect(raisedOf(tenantId).map((entry) => entry.outcome)).toEqual([
      { status: 'queued', queued: 0, failed: 1 },
      { status: 'queued', queued: 0, failed: 1 },
    ]);
    expect((await harness.controlPlane.runs.get(tenantId, run.id))?.status).toBe('failed');
    expect((await harness.controlPlane.checkpoints.get(tenantId)).activeRunId).toBeNull();
    const actions = (await harness.controlPlane.audit.list(tenantId)).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['run.failed', 'schedule.auto-paused']));
    expect((await harness.controlPlane.settings.requireRetention(tenantId)).value.schedule.paused).toBe(true);
    expect(await harness.queues.runs.getJobScheduler(`tenant.${tenantId}`)).toBeUndefined();
  });

  it('changes nothing either when the alert sink itself throws', async () => {
    const { tenantId } = await failingTenant('alert-sink-broken', { pauseAfterFailures: 1 });
    brokenSinkTenants.add(tenantId);
    const run = await failedRun(tenantId);
    const audit = await pollUntil(
      'the auto-pause of the tenant',
      async () => (await harness.controlPlane.audit.list(tenantId)).map((entry) => entry.action),
      (actions) => actions.includes('schedule.auto-paused'),
    );
    expect(audit).toContain('run.failed');
    expect((await harness.controlPlane.runs.get(tenantId, run.id))?.status).toBe('failed');
    expect((await harness.controlPlane.settings.requireRetention(tenantId)).value.schedule.paused).toBe(true);
    expect(await bed.fx.store.listByTenant(tenantId, { limit: 10 })).toEqual([]);
  });
});
