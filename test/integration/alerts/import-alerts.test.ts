import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importManifest } from '../../../src/import/import-manifest.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';
import type { DropBuilder } from '../../support/import/drop-builder.js';
import { uniqueName } from '../../support/redis.js';
import { portalUrlOf, startAlertTestBed, type AlertTestBed } from './alert-test-bed.js';

/**
 * The `import-refused` alert (issue 13.5) from the real importer: a manifest the online archive refuses (a flipped
 * byte in a listed file) mails the tenant's recipients once, with the manifest, the file, the code and what to do; the
 * manifests blocked behind it do not alert again; an outbox that throws changes nothing of the refusal.
 */

const DAY = 86_400_000;
const T0 = new Date('2026-03-02T00:00:00.000Z');
let harness: ImportHarness;
let bed: AlertTestBed;

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'));
  bed = await startAlertTestBed(() => harness.controlPlane);
  harness.deps.alerts = bed.sink;
});

afterAll(async () => {
  await harness?.close();
  await bed?.close();
});

const windowOf = (day: number) => ({ from: new Date(T0.getTime() + day * DAY), to: new Date(T0.getTime() + (day + 1) * DAY) });
const contacts = (tenantId: string, day: number) => [
  ...generateRecords({
    seed: 5,
    tenantId,
    type: 'contacts',
    from: windowOf(day).from,
    to: new Date(windowOf(day).from.getTime() + 6 * 3600_000),
    ratesPerHour: { contacts: 4 },
  }),
];

/** An online tenant with an owner and an imported first manifest; returns its drop builder. */
async function onlineTenant(name: string): Promise<{ tenantId: string; owner: string; drop: DropBuilder }> {
  const tenantId = uniqueName(name).toLowerCase();
  const drop = await harness.setUpTenant(tenantId);
  const owner = `owner@${tenantId}.example`;
  await harness.controlPlane.users.create(tenantId, { email: owner, displayName: 'Olga Owner', role: 'owner', passwordHash: 'not-used' });
  const first = await drop.deliver({ runId: 'r1', window: windowOf(0), records: { contacts: contacts(tenantId, 0) } });
  expect((await importManifest(harness.deps, tenantId, first.path)).status).toBe('imported');
  return { tenantId, owner, drop };
}

/** Delivers the next manifest with one byte of its last listed file flipped; returns its path and that file. */
async function tamperedDelivery(tenantId: string, drop: DropBuilder, runId: string, day: number): Promise<{ path: string; file: string }> {
  const link = await drop.deliver({ runId, window: windowOf(day), records: { contacts: contacts(tenantId, day) } });
  const manifest = JSON.parse(await readFile(join(harness.dropRoot, link.path), 'utf8')) as { files: { path: string }[] };
  const file = manifest.files.at(-1)?.path as string;
  const bytes = await readFile(join(harness.dropRoot, file));
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] as number) ^ 0x01;
  await writeFile(join(harness.dropRoot, file), bytes);
  return { path: link.path, file };
}

describe('the import-refused alert', () => {
  it('mails the owner once for a refused manifest, with the manifest, the file, the code and how to retry; the blocked successor does not alert', async () => {
    const { tenantId, owner, drop } = await onlineTenant('imp-alert');
    const refused = await tamperedDelivery(tenantId, drop, 'r2', 1);
    await expect(importManifest(harness.deps, tenantId, refused.path)).rejects.toMatchObject({ code: 'ERR_IMPORT_CHECKSUM_MISMATCH' });
    // Importing it again (a second job, a rebuild) is refused for the same reason: no second message.
    await expect(importManifest(harness.deps, tenantId, refused.path)).rejects.toMatchObject({ code: 'ERR_IMPORT_CHECKSUM_MISMATCH' });
    const blocked = await drop.deliver({ runId: 'r3', window: windowOf(2), records: { contacts: contacts(tenantId, 2) } });
    await expect(importManifest(harness.deps, tenantId, blocked.path)).rejects.toMatchObject({ code: 'ERR_IMPORT_CHAIN_BLOCKED' });

    const [mail, ...others] = await bed.deliveredTo(tenantId, 1);
    expect(others).toEqual([]);
    expect(mail?.recipients).toEqual([owner]);
    expect(mail?.message.template).toBe('import-refused');
    expect(mail?.subject).toBe(`The online archive of ${tenantId} refused a drop (ERR_IMPORT_CHECKSUM_MISMATCH)`);
    expect(mail?.text).toContain(`Manifest: ${refused.path}`);
    expect(mail?.text).toContain(`File:     ${refused.file}`);
    expect(mail?.text).toContain('Error:    ERR_IMPORT_CHECKSUM_MISMATCH: ');
    expect(mail?.text).toContain(`retention import ${tenantId} --retry`);
    expect(mail?.text).toContain(`--tenant ${tenantId}`);
    expect(mail?.text).toContain(`${portalUrlOf(tenantId)}/settings/retention`);
    expect(mail?.html).toContain(`<code>${refused.file}</code>`);
    expect(bed.raised.filter((entry) => entry.event.tenantId === tenantId).map((entry) => entry.outcome)).toEqual([
      { status: 'queued', queued: 1, failed: 0 },
      { status: 'queued', queued: 1, failed: 0 },
    ]);
  });

  it('refuses the manifest exactly as without alerts when the outbox throws: recorded failed, audited, the archive unchanged', async () => {
    const { tenantId, drop } = await onlineTenant('imp-alert-down');
    bed.failingTenants.add(tenantId);
    const before = await harness.snapshot(tenantId);
    const refused = await tamperedDelivery(tenantId, drop, 'r2', 1);
    await expect(importManifest(harness.deps, tenantId, refused.path)).rejects.toMatchObject({ code: 'ERR_IMPORT_CHECKSUM_MISMATCH', file: refused.file });
    const record = await harness.deps.imports.get(tenantId, refused.path);
    expect(record?.status).toBe('failed');
    expect(record?.error).toMatchObject({ code: 'ERR_IMPORT_CHECKSUM_MISMATCH', permanent: true });
    expect((await harness.controlPlane.audit.list(tenantId)).map((entry) => entry.action)).toContain('archive.import-failed');
    expect(await harness.snapshot(tenantId)).toEqual(before);
    expect(bed.raised.filter((entry) => entry.event.tenantId === tenantId).map((entry) => entry.outcome)).toEqual([{ status: 'queued', queued: 0, failed: 1 }]);
    expect(await bed.fx.store.listByTenant(tenantId, { limit: 10 })).toEqual([]);
  });
});
