import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAlertDigests } from '../../../src/alerts/alert-digest.js';
import { AlertDispatcher } from '../../../src/alerts/alert-dispatcher.js';
import type { RunFailedAlert } from '../../../src/alerts/alert-event.js';
import { createControlPlane, ensureControlPlaneIndexes, type ControlPlane } from '../../../src/store/control-plane.js';
import { uniqueName } from '../../support/redis.js';
import { startMailFixture, type MailFixture } from '../mail/mail-fixture.js';

/**
 * The alert stores on the test MongoDB (settings validated on read, optimistic saves; events recorded once, grouped
 * by tenant day, marked digested) and the digest job's safety with several workers at once.
 */

let fx: MailFixture;
let cp: ControlPlane;

beforeAll(async () => {
  fx = await startMailFixture();
  cp = createControlPlane(fx.db);
  await ensureControlPlaneIndexes(cp);
});

afterAll(async () => {
  await fx?.close();
});

const runFailed = (tenantId: string, runId: string, failedAt: Date): RunFailedAlert => ({
  kind: 'run-failed',
  tenantId,
  runId,
  trigger: 'schedule',
  startedAt: failedAt,
  failedAt,
  code: 'ERR_TARGET_UNREACHABLE',
  message: 'the SFTP server refused the connection',
});

describe('the alert settings store', () => {
  it('saves over the version it was given, refuses a stale one, and upserts without one', async () => {
    const tenantId = uniqueName('as').toLowerCase();
    expect(await cp.alertSettings.get(tenantId)).toBeUndefined();
    const first = await cp.alertSettings.put(tenantId, { recipients: 'A@ops.example', delivery: 'each-event' }, { actor: 'u1', expectedVersion: 0 });
    expect(first).toMatchObject({ recipients: ['a@ops.example'], version: 1, updatedBy: 'u1' });
    await expect(cp.alertSettings.put(tenantId, { recipients: [], delivery: 'each-event' }, { actor: 'u2', expectedVersion: 0 })).rejects.toMatchObject({
      code: 'ERR_SETTINGS_CONFLICT',
    });
    await expect(cp.alertSettings.put(tenantId, { recipients: [], delivery: 'each-event' }, { actor: 'u2', expectedVersion: 5 })).rejects.toMatchObject({
      code: 'ERR_SETTINGS_CONFLICT',
    });
    expect((await cp.alertSettings.put(tenantId, { recipients: [], delivery: 'daily-digest' }, { actor: 'u2', expectedVersion: 1 })).version).toBe(2);
    expect((await cp.alertSettings.put(tenantId, { recipients: ['b@ops.example'], delivery: 'daily-digest' }, { actor: 'cli' })).version).toBe(3);
    expect(await cp.alertSettings.get(tenantId)).toMatchObject({ recipients: ['b@ops.example'], delivery: 'daily-digest', version: 3 });
    // Retention settings of the same tenant live beside them, untouched, and the scheduler does not list alerts.
    expect(await cp.settings.listRetentionTenants()).not.toContain(tenantId);
  });

  it('refuses invalid input and a document edited by hand (ERR_ALERT_SETTINGS_INVALID)', async () => {
    const tenantId = uniqueName('as').toLowerCase();
    await expect(cp.alertSettings.put(tenantId, { recipients: 'nope', delivery: 'each-event' }, { actor: 'u1' })).rejects.toMatchObject({
      code: 'ERR_ALERT_SETTINGS_INVALID',
    });
    await fx.db
      .collection<{ _id: string; [field: string]: unknown }>('settings')
      .insertOne({ _id: `${tenantId}/alerts`, tenantId, kind: 'alerts', recipients: ['x@y.example', 'not an address'], delivery: 'each-event', version: 1 });
    await expect(cp.alertSettings.get(tenantId)).rejects.toMatchObject({ code: 'ERR_ALERT_SETTINGS_INVALID' });
    // An alert for such a tenant is not sent, and says why in its outcome (it never throws).
    const dispatcher = new AlertDispatcher({ controlPlane: cp, mail: fx.outbox, logger: fx.logger });
    expect(await dispatcher.raise(runFailed(tenantId, `${tenantId}.r1`, new Date()))).toEqual({ status: 'not-sent', reason: 'error' });
  });
});

describe('the alert events store', () => {
  it('records an event once, groups waiting events by tenant day, and marks them digested', async () => {
    const tenantId = uniqueName('ev').toLowerCase();
    const event = {
      tenantId,
      key: 'run-failed:r1',
      kind: 'run-failed' as const,
      at: new Date('2026-11-23T10:00:00Z'),
      day: '2026-11-23',
      timeZone: 'UTC',
      summary: 'Run r1 failed',
      path: '/jobs/r1',
    };
    expect(await cp.alertEvents.record(event)).toEqual({ duplicate: false });
    expect(await cp.alertEvents.record({ ...event, summary: 'again' })).toEqual({ duplicate: true });
    await cp.alertEvents.record({ ...event, key: 'run-failed:r2', at: new Date('2026-11-23T22:30:00Z'), timeZone: 'Europe/Berlin' });
    await cp.alertEvents.record({ ...event, key: 'run-failed:r3', day: '2026-11-24', at: new Date('2026-11-24T08:00:00Z') });
    const pending = (await cp.alertEvents.listPendingDays()).filter((day) => day.tenantId === tenantId);
    expect(pending).toEqual([
      { tenantId, day: '2026-11-23', timeZones: ['UTC', 'Europe/Berlin'] },
      { tenantId, day: '2026-11-24', timeZones: ['UTC'] },
    ]);
    const day = await cp.alertEvents.listForDigest(tenantId, '2026-11-23');
    expect(day.map((e) => [e.key, e.summary])).toEqual([
      ['run-failed:r1', 'Run r1 failed'],
      ['run-failed:r2', 'Run r1 failed'],
    ]);
    expect(await cp.alertEvents.markDigested(tenantId, ['run-failed:r1', 'run-failed:r2'], new Date())).toBe(2);
    expect(await cp.alertEvents.markDigested(tenantId, ['run-failed:r1'], new Date())).toBe(0);
    expect(await cp.alertEvents.listForDigest(tenantId, '2026-11-23')).toEqual([]);
    expect(await cp.alertEvents.listForDigest('other-tenant', '2026-11-24')).toEqual([]);
  });
});

describe('the daily digest', () => {
  it('queues one digest per recipient and day when several workers run the job at once', async () => {
    const tenantId = await fx.createTenant('Digest Support');
    await cp.alertSettings.put(tenantId, { recipients: ['a@ops.example', 'b@ops.example'], delivery: 'daily-digest' }, { actor: 'test' });
    const dispatcher = new AlertDispatcher({ controlPlane: cp, mail: fx.outbox, logger: fx.logger });
    for (const [i, hour] of [3, 9, 15].entries()) {
      expect((await dispatcher.raise(runFailed(tenantId, `${tenantId}.r${i}`, new Date(Date.UTC(2026, 10, 23, hour))))).status).toBe('recorded');
    }
    expect(await dispatcher.raise(runFailed(tenantId, `${tenantId}.r0`, new Date(Date.UTC(2026, 10, 23, 3))))).toEqual({ status: 'recorded', duplicate: true });
    const deps = { controlPlane: cp, mail: fx.outbox, portalUrlOf: (id: string) => `https://${id}.portal.test`, logger: fx.logger };

    expect(await sendAlertDigests({ ...deps, now: () => new Date('2026-11-23T23:59:00Z') })).toEqual({ digests: 0, messages: 0, retried: 0 });
    const passes = await Promise.all([1, 2, 3].map(() => sendAlertDigests({ ...deps, now: () => new Date('2026-11-24T00:07:00Z') })));
    expect(passes.reduce((n, pass) => n + pass.retried, 0)).toBe(0);
    const messages = await fx.store.listByTenant(tenantId, { limit: 20 });
    expect(messages.map((m) => [m.template, m.to]).sort()).toEqual([
      ['alert-digest', 'a@ops.example'],
      ['alert-digest', 'b@ops.example'],
    ]);
    expect(messages[0]?.subject).toBe('Retention alerts for Digest Support: 3 alerts on Monday 23 November 2026 (UTC)');
    expect(await sendAlertDigests({ ...deps, now: () => new Date('2026-11-24T01:07:00Z') })).toEqual({ digests: 0, messages: 0, retried: 0 });
  });

  it('sends nothing for a day without events, and marks the events of a tenant that turned alerts off since', async () => {
    const tenantId = await fx.createTenant('Quiet Support');
    await cp.alertSettings.put(tenantId, { recipients: ['a@ops.example'], delivery: 'daily-digest' }, { actor: 'test' });
    const dispatcher = new AlertDispatcher({ controlPlane: cp, mail: fx.outbox, logger: fx.logger });
    await dispatcher.raise(runFailed(tenantId, `${tenantId}.r1`, new Date(Date.UTC(2026, 10, 20, 12))));
    await cp.alertSettings.put(tenantId, { recipients: [], delivery: 'daily-digest' }, { actor: 'test' });
    const deps = { controlPlane: cp, mail: fx.outbox, portalUrlOf: (id: string) => `https://${id}.portal.test`, logger: fx.logger };
    await sendAlertDigests({ ...deps, now: () => new Date('2026-11-22T00:07:00Z') });
    expect(await fx.store.listByTenant(tenantId, { limit: 20 })).toEqual([]);
    expect((await cp.alertEvents.listPendingDays()).filter((day) => day.tenantId === tenantId)).toEqual([]);
  });
});
