import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExportQueues, type ExportQueues } from '../../../src/queue/export-queues.js';
import { syncTenantSchedule } from '../../../src/queue/tenant-schedules.js';
import type { UserCapability } from '../../../src/store/users-store.js';
import { cleanupPrefix, createTestRedis, uniqueName } from '../../support/redis.js';
import { startPortalHarness, type PortalClient, type PortalHarness } from '../portal/portal-harness.js';
import { startAlertTestBed, type AlertTestBed } from './alert-test-bed.js';

/**
 * The portal side of run alerts (issue 13.5): the Alerts section of the Retention settings page (what applies now,
 * saving recipients and delivery, field errors, the permission, CSRF, stale forms, the audit entry), and the jobs
 * page's pause of a failing schedule, which mails schedule-paused like the worker's.
 */

const queueRedis = createTestRedis();
const queuePrefix = uniqueName('alerts-portal');
let queues: ExportQueues;
let h: PortalHarness;
let bed: AlertTestBed;

beforeAll(async () => {
  queues = createExportQueues(queueRedis, queuePrefix);
  bed = await startAlertTestBed(() => h.controlPlane);
  h = await startPortalHarness({}, { exportQueues: queues, mail: bed.outbox, outboxMessages: bed.fx.store });
});

afterAll(async () => {
  await h?.close();
  await bed?.close();
  await queues?.close();
  await cleanupPrefix(queueRedis, queuePrefix);
  await queueRedis.quit();
});

const SETTINGS = {
  mode: 'offline',
  dataTypes: ['chats'],
  schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin' },
  source: { kind: 'demo', seed: 1 },
  target: { kind: 'local', directory: '/srv/drop' },
};

/** A tenant with an owner (who is mailed while nothing is saved) and retention settings. */
async function tenantWithOwner(): Promise<{ tenantId: string; owner: string }> {
  const tenantId = await h.createTenant('alerts');
  const owner = `owner@${tenantId}.example`;
  await h.createUser(tenantId, { email: owner, role: 'owner', displayName: 'Olga Owner' });
  const saved = await h.controlPlane.settings.putRetention(tenantId, SETTINGS, { actor: 'test' });
  await syncTenantSchedule(queues.runs, tenantId, saved.value);
  return { tenantId, owner };
}

async function signedIn(tenantId: string, capabilities: UserCapability[]): Promise<PortalClient> {
  const { email } = await h.createUser(tenantId, { capabilities, dataTypes: [] });
  const client = h.client(tenantId);
  expect((await client.signIn(email)).status).toBe(303);
  await client.get('/settings/retention');
  return client;
}

const form = (recipients: string, delivery = 'each-event', version = '0') => ({
  'alerts.recipients': recipients,
  'alerts.delivery': delivery,
  'alerts.version': version,
});

describe('the Alerts section of the Retention settings page', () => {
  it('says the owner gets each event until something is saved, with the owner’s address filled in', async () => {
    const { tenantId, owner } = await tenantWithOwner();
    const client = await signedIn(tenantId, ['configure-retention']);
    const page = await client.get('/settings/retention');
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="alerts"');
    expect(page.text).toContain(`Nothing is saved yet, so alerts go to the owner (${owner}), each event by itself.`);
    expect(page.text).toMatch(new RegExp(`<textarea id="alerts-recipients" name="alerts.recipients"[^>]*>${owner.replace(/\./g, '\\.')}</textarea>`));
    expect(page.text).toContain('Saving an empty list turns alerts off.');
    expect(page.text).toContain('action="/settings/retention/alerts"');
    expect(page.text).toMatch(/<input type="radio" name="alerts.delivery" value="each-event" checked>/);
  });

  it('saves normalized recipients and a daily digest, audits before and after, and shows what applies now', async () => {
    const { tenantId } = await tenantWithOwner();
    const client = await signedIn(tenantId, ['configure-retention']);
    const res = await client.post('/settings/retention/alerts', form(' OnCall@Ops.Example\nlead@ops.example, oncall@ops.example ', 'daily-digest'));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/settings/retention#alerts');
    expect(await h.controlPlane.alertSettings.get(tenantId)).toMatchObject({
      recipients: ['oncall@ops.example', 'lead@ops.example'],
      delivery: 'daily-digest',
      version: 1,
    });
    const [entry] = await h.controlPlane.audit.list(tenantId, { action: 'alerts.settings-changed' });
    expect(entry).toMatchObject({
      outcome: 'success',
      target: 'alerts',
      details: {
        version: 1,
        recipientsBefore: '(not set: the owner)',
        deliveryBefore: 'each-event',
        recipientsAfter: 'oncall@ops.example, lead@ops.example',
        deliveryAfter: 'daily-digest',
      },
    });
    const page = await client.get('/settings/retention');
    expect(page.text).toContain('The alert settings were saved: alerts go to 2 addresses, in one digest a day.');
    expect(page.text).toContain('Alerts go to 2 addresses in one digest a day.');
    expect(page.text).toContain('name="alerts.version" value="1"');
    expect(page.text).toMatch(/value="daily-digest" checked>/);

    expect((await client.post('/settings/retention/alerts', form('', 'each-event', '1'))).status).toBe(303);
    expect(await h.controlPlane.alertSettings.get(tenantId)).toMatchObject({ recipients: [], delivery: 'each-event', version: 2 });
    const off = await client.get('/settings/retention');
    expect(off.text).toContain('Alerts are off: nobody is told when a run fails');
    const [latest] = await h.controlPlane.audit.list(tenantId, { action: 'alerts.settings-changed' });
    expect(latest?.details).toMatchObject({ recipientsBefore: 'oncall@ops.example, lead@ops.example', recipientsAfter: '(none: alerts off)', version: 2 });
  });

  it.each([
    ['not-an-address', 'each-event', '"not-an-address" is not an email address'],
    ['ok@ops.example\n<script>alert(1)</script>', 'each-event', 'is not an email address'],
    [Array.from({ length: 11 }, (_, i) => `p${i}@ops.example`).join('\n'), 'each-event', 'at most 10 addresses; you entered 11'],
    ['ok@ops.example', 'hourly', 'Delivery: choose'],
    ['ok@ops.example', '', 'Delivery: choose'],
  ])('refuses %j with %j: 400, the error next to the field, the values as typed, nothing saved', async (recipients, delivery, message) => {
    const { tenantId } = await tenantWithOwner();
    const client = await signedIn(tenantId, ['configure-retention']);
    const res = await client.post('/settings/retention/alerts', form(recipients, delivery));
    expect(res.status).toBe(400);
    expect(res.text).toMatch(
      new RegExp(`<p class="field-error" role="alert">[^<]*${message.replace(/[.*+?^${}()|[\]\\"]/g, (c) => (c === '"' ? '&#34;' : `\\${c}`))}`),
    );
    expect(res.text).not.toContain('<script>alert(1)</script>');
    if (recipients.includes('<script>')) expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(await h.controlPlane.alertSettings.get(tenantId)).toBeUndefined();
    expect(await h.controlPlane.audit.list(tenantId, { action: 'alerts.settings-changed' })).toEqual([]);
  });

  it('refuses a user without configure-retention (403) and changes nothing', async () => {
    const { tenantId } = await tenantWithOwner();
    await h.controlPlane.alertSettings.put(tenantId, { recipients: ['keep@ops.example'], delivery: 'each-event' }, { actor: 'test' });
    for (const capabilities of [['run-jobs'], ['manage-users'], []] as UserCapability[][]) {
      const client = await signedIn(tenantId, capabilities);
      const res = await client.post('/settings/retention/alerts', form('attacker@evil.example', 'each-event', '1'));
      expect(res.status).toBe(403);
    }
    expect(await h.controlPlane.alertSettings.get(tenantId)).toMatchObject({ recipients: ['keep@ops.example'], version: 1 });
    expect(await h.controlPlane.audit.list(tenantId, { action: 'alerts.settings-changed' })).toEqual([]);
  });

  it('requires the CSRF token', async () => {
    const { tenantId } = await tenantWithOwner();
    const client = await signedIn(tenantId, ['configure-retention']);
    const res = await client.post('/settings/retention/alerts', form('attacker@evil.example'), { csrf: false });
    expect(res.status).toBe(403);
    const forged = await client.post('/settings/retention/alerts', form('attacker@evil.example'), { csrf: 'not-the-token' });
    expect(forged.status).toBe(403);
    expect(await h.controlPlane.alertSettings.get(tenantId)).toBeUndefined();
  });

  it('refuses a form opened before someone else saved (409), keeping what was typed', async () => {
    const { tenantId } = await tenantWithOwner();
    const client = await signedIn(tenantId, ['configure-retention']);
    await h.controlPlane.alertSettings.put(tenantId, { recipients: ['first@ops.example'], delivery: 'each-event' }, { actor: 'someone-else' });
    const res = await client.post('/settings/retention/alerts', form('second@ops.example'));
    expect(res.status).toBe(409);
    expect(res.text).toContain('Somebody else changed the alert settings since you opened the page.');
    expect(res.text).toContain('second@ops.example</textarea>');
    expect(await h.controlPlane.alertSettings.get(tenantId)).toMatchObject({ recipients: ['first@ops.example'], version: 1 });
  });
});

describe('the jobs page’s pause of a failing schedule', () => {
  it('mails schedule-paused to the recipients once, however often the page is opened', async () => {
    const { tenantId } = await tenantWithOwner();
    await h.controlPlane.alertSettings.put(tenantId, { recipients: ['oncall@ops.example'], delivery: 'each-event' }, { actor: 'test' });
    for (const day of ['02', '03', '04']) {
      const id = `${tenantId}.f${day}`;
      const at = new Date(`2026-03-${day}T02:00:00Z`);
      await h.controlPlane.runs.createIfAbsent({ id, tenantId, trigger: 'schedule', windows: {}, previous: null, chunkCount: 1, createdAt: at });
      await h.controlPlane.runs.markFailed(tenantId, id, { code: 'ERR_TARGET_UNREACHABLE', message: 'the SFTP server refused the connection' }, at);
    }
    const client = await signedIn(tenantId, ['run-jobs']);
    const page = await client.get('/jobs');
    expect(page.text).toContain('The schedule was paused');
    await client.get('/jobs');
    expect((await h.controlPlane.settings.requireRetention(tenantId)).value.schedule.paused).toBe(true);

    const [mail, ...others] = await bed.deliveredTo(tenantId, 1);
    expect(others).toEqual([]);
    expect(mail?.recipients).toEqual(['oncall@ops.example']);
    expect(mail?.subject).toBe(`Archive schedule of alerts Support paused after 3 failed runs`);
    expect(mail?.text).toContain(`Last failed run: ${tenantId}.f04`);
    expect(mail?.text).toContain('ERR_TARGET_UNREACHABLE: the SFTP server refused the connection');
    expect(mail?.text).toContain(`https://${tenantId}.portal.test/jobs`);
  });
});
