import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDropFilePath } from '../../../src/archive/drop-layout.js';
import { parseManifest } from '../../../src/archive/manifest.js';
import { verifyDrop } from '../../../src/archive/verify-drop.js';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import { purgeTenantArchive } from '../../../src/import/archive-maintenance.js';
import { importManifest } from '../../../src/import/import-manifest.js';
import { findManifestsToImport } from '../../../src/import/pending-manifests.js';
import { rebuildArchive } from '../../../src/import/rebuild-archive.js';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import type { Contact } from '../../../src/records/contact-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import { parseRecord } from '../../../src/records/parse-record.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { FULL_ARCHIVE_SCOPE } from '../../../src/store/archive/archive-scope.js';
import { createImportHarness, type ImportHarness } from '../../support/import/import-harness.js';

const DAY = 86_400_000;
const T0 = new Date('2026-03-02T00:00:00.000Z');
let harness: ImportHarness;

beforeAll(async () => {
  harness = await createImportHarness(inject('mongoUrl'), { batchSize: 50 });
});
afterAll(async () => {
  await harness?.close();
});

function demo<T extends RecordType>(tenantId: string, type: T, day: number, perHour: number) {
  return [
    ...generateRecords({
      seed: 11,
      tenantId,
      type,
      from: new Date(T0.getTime() + day * DAY),
      to: new Date(T0.getTime() + day * DAY + 6 * 3600_000),
      ratesPerHour: { [type]: perHour },
    }),
  ];
}
const windowOf = (day: number) => ({ from: new Date(T0.getTime() + day * DAY), to: new Date(T0.getTime() + (day + 1) * DAY) });
const later = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const access = (tenantId: string) => ({ tenantId, scope: FULL_ARCHIVE_SCOPE });
const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (err: { code?: string }) => err.code,
  );

describe('importing a verified drop', () => {
  it('loads every record of a manifest, splits chats into rooms and messages, and records the import', async () => {
    const tenant = 'imp-basic';
    const drop = await harness.setUpTenant(tenant);
    const calls = demo(tenant, 'call-logs', 0, 40);
    const chats = demo(tenant, 'chats', 0, 20);
    const contacts = demo(tenant, 'contacts', 0, 10);
    const link = await drop.deliver({ runId: 'r1', window: windowOf(0), records: { 'call-logs': calls, chats, contacts }, maxRecords: 60 });

    const outcome = await importManifest(harness.deps, tenant, link.path);
    expect(outcome.status).toBe('imported');
    const snapshot = await harness.snapshot(tenant);
    expect(snapshot.callLogs).toHaveLength(calls.length);
    expect(snapshot.chats).toHaveLength(chats.length);
    expect(snapshot.contacts).toHaveLength(contacts.length);
    expect(snapshot.chatMessages).toHaveLength(chats.reduce((n, chat) => n + chat.messages.length, 0));
    expect(snapshot.chats?.every((room) => !('messages' in room))).toBe(true);

    const call = calls[3] as CallLog;
    const expected = parseRecord('call-logs', JSON.parse(JSON.stringify(call)));
    expect(expected.ok).toBe(true);
    expect(await harness.store.getCallLog(access(tenant), call.id)).toEqual(expected.ok ? expected.record : undefined);

    const record = await harness.deps.imports.get(tenant, link.path);
    expect(record).toMatchObject({ status: 'imported', sha256: link.sha256, previous: null, error: null });
    expect(record?.counts?.types['call-logs']).toEqual({ records: calls.length, inserted: calls.length, updated: 0, unchanged: 0 });
    expect(record?.counts?.messages.inserted).toBe(snapshot.chatMessages?.length);
  });

  it('refuses a manifest with a flipped byte in a delivered file, names the file, and loads nothing of it', async () => {
    const tenant = 'imp-flipped';
    const drop = await harness.setUpTenant(tenant);
    const first = await drop.deliver({ runId: 'r1', window: windowOf(0), records: { contacts: demo(tenant, 'contacts', 0, 10) } });
    await importManifest(harness.deps, tenant, first.path);
    const before = await harness.snapshot(tenant);

    const second = await drop.deliver({
      runId: 'r2',
      window: windowOf(1),
      records: { 'call-logs': demo(tenant, 'call-logs', 1, 40), chats: demo(tenant, 'chats', 1, 10) },
      maxRecords: 30,
    });
    const manifest = JSON.parse(await readFile(join(harness.dropRoot, second.path), 'utf8')) as { files: { path: string; type: string }[] };
    const victim = manifest.files.filter((file) => file.type === 'chats').at(-1)?.path as string;
    expect(manifest.files.findIndex((file) => file.path === victim)).toBe(manifest.files.length - 1);
    const bytes = await readFile(join(harness.dropRoot, victim));
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0x01;
    await writeFile(join(harness.dropRoot, victim), bytes);

    await expect(importManifest(harness.deps, tenant, second.path)).rejects.toMatchObject({ code: 'ERR_IMPORT_CHECKSUM_MISMATCH', file: victim });
    const record = await harness.deps.imports.get(tenant, second.path);
    expect(record?.status).toBe('failed');
    expect(record?.error).toMatchObject({ code: 'ERR_IMPORT_CHECKSUM_MISMATCH', file: victim, permanent: true });
    expect(record?.error?.message).toContain(victim);
    expect(await harness.snapshot(tenant)).toEqual(before);
    expect((await harness.controlPlane.audit.list(tenant)).map((e) => e.action)).toContain('archive.import-failed');
  });

  it('imports a drop a server left under recovery names (stopped in the middle of a replace), putting the names back; a copy with other bytes is not used', async () => {
    const tenant = 'imp-recovery';
    const drop = await harness.setUpTenant(tenant);
    const calls = demo(tenant, 'call-logs', 0, 40);
    const link = await drop.deliver({ runId: 'r1', window: windowOf(0), records: { 'call-logs': calls }, maxRecords: 60 });
    const manifest = JSON.parse(await readFile(join(harness.dropRoot, link.path), 'utf8')) as { files: { path: string }[] };
    const [firstFile, secondFile] = manifest.files.map((file) => file.path);
    if (firstFile === undefined || secondFile === undefined) throw new Error('expected two files');
    const aside = (path: string, token: string): string => `${path}.replaced-20260302T120000Z-${token}`;
    await rename(join(harness.dropRoot, link.path), join(harness.dropRoot, aside(link.path, '00000001')));
    await rename(join(harness.dropRoot, firstFile), join(harness.dropRoot, aside(firstFile, '00000002')));
    // A second file whose only copy under a recovery name holds other bytes: it stays missing.
    const secondBytes = await readFile(join(harness.dropRoot, secondFile));
    await rename(join(harness.dropRoot, secondFile), join(harness.dropRoot, aside(secondFile, '00000003')));
    await writeFile(
      join(harness.dropRoot, aside(secondFile, '00000003')),
      Buffer.concat([secondBytes.subarray(0, -1), Buffer.from([secondBytes.at(-1)! ^ 1])]),
    );

    await expect(importManifest(harness.deps, tenant, link.path)).rejects.toMatchObject({ code: 'ERR_IMPORT_FILE_MISSING', file: secondFile });
    expect((await harness.snapshot(tenant)).callLogs ?? []).toHaveLength(0);

    await writeFile(join(harness.dropRoot, aside(secondFile, '00000003')), secondBytes);
    const outcome = await importManifest(harness.deps, tenant, link.path);
    expect(outcome.status).toBe('imported');
    expect((await harness.snapshot(tenant)).callLogs).toHaveLength(calls.length);
    for (const path of [link.path, firstFile, secondFile]) expect(await readFile(join(harness.dropRoot, path))).toBeInstanceOf(Buffer);
    const report = await verifyDrop(new LocalDirectoryTarget({ root: harness.dropRoot }), tenant);
    expect(report.problems).toEqual([]);
  });

  it('flags a broken chain link and does not import that manifest or any after it', async () => {
    const tenant = 'imp-chain';
    const drop = await harness.setUpTenant(tenant);
    const first = await drop.deliver({ runId: 'r1', window: windowOf(0), records: { contacts: demo(tenant, 'contacts', 0, 10) } });
    await importManifest(harness.deps, tenant, first.path);
    const before = await harness.snapshot(tenant);
    const forged = await drop.deliver({
      runId: 'r2',
      window: windowOf(1),
      records: { contacts: demo(tenant, 'contacts', 1, 10) },
      previous: { path: first.path, sha256: 'f'.repeat(64) },
    });
    const after = await drop.deliver({ runId: 'r3', window: windowOf(2), records: { contacts: demo(tenant, 'contacts', 2, 10) } });

    const broken = await importManifest(harness.deps, tenant, forged.path).catch((err: Error & { code: string }) => err);
    expect(broken).toMatchObject({ code: 'ERR_IMPORT_CHAIN_BROKEN' });
    expect((broken as Error).message).toContain(first.path);
    expect(await codeOf(importManifest(harness.deps, tenant, after.path))).toBe('ERR_IMPORT_CHAIN_BLOCKED');
    expect((await harness.deps.imports.get(tenant, forged.path))?.status).toBe('failed');
    expect((await harness.deps.imports.get(tenant, after.path))?.error?.code).toBe('ERR_IMPORT_CHAIN_BLOCKED');
    expect(await harness.snapshot(tenant)).toEqual(before);
    expect(await findManifestsToImport(harness.deps, tenant)).toEqual([]);
  });

  it('waits for the previous manifest, and refuses a second genesis', async () => {
    const tenant = 'imp-order';
    const drop = await harness.setUpTenant(tenant);
    const first = await drop.deliver({ runId: 'r1', window: windowOf(0), records: { contacts: demo(tenant, 'contacts', 0, 4) } });
    const second = await drop.deliver({ runId: 'r2', window: windowOf(1), records: { contacts: demo(tenant, 'contacts', 1, 4) } });
    expect(await codeOf(importManifest(harness.deps, tenant, second.path))).toBe('ERR_IMPORT_PREVIOUS_PENDING');
    expect((await harness.deps.imports.get(tenant, second.path))?.status).toBe('importing');
    expect(await findManifestsToImport(harness.deps, tenant)).toEqual([first.path, second.path]);
    await importManifest(harness.deps, tenant, first.path);
    expect((await importManifest(harness.deps, tenant, second.path)).status).toBe('imported');
    const genesis = await drop.deliver({ runId: 'r9', window: windowOf(5), records: { contacts: demo(tenant, 'contacts', 5, 4) }, previous: null });
    expect(await codeOf(importManifest(harness.deps, tenant, genesis.path))).toBe('ERR_IMPORT_CHAIN_BROKEN');
  });

  it('changes nothing when the same manifest is imported again, even when its records are loaded a second time', async () => {
    const tenant = 'imp-twice';
    const drop = await harness.setUpTenant(tenant);
    const link = await drop.deliver({
      runId: 'r1',
      window: windowOf(0),
      records: { 'call-logs': demo(tenant, 'call-logs', 0, 20), chats: demo(tenant, 'chats', 0, 10) },
      encoding: 'ndjson',
      gzip: false,
    });
    await importManifest(harness.deps, tenant, link.path);
    const before = await harness.snapshot(tenant);
    expect(await importManifest(harness.deps, tenant, link.path)).toEqual({ status: 'already-imported', path: link.path, sha256: link.sha256 });
    expect(await harness.snapshot(tenant)).toEqual(before);

    await harness.deps.imports.deleteAll(tenant);
    const again = await importManifest(harness.deps, tenant, link.path);
    expect(again.status === 'imported' && again.counts.types['call-logs']).toMatchObject({ inserted: 0, updated: 0 });
    expect(again.status === 'imported' && again.counts.messages).toMatchObject({ inserted: 0, updated: 0, removed: 0 });
    expect(await harness.snapshot(tenant)).toEqual(before);
  });

  it('keeps the newer version when an older one arrives later, and drops messages a newer chat version removed', async () => {
    const tenant = 'imp-versions';
    const drop = await harness.setUpTenant(tenant);
    const [call] = demo(tenant, 'call-logs', 0, 5) as [CallLog];
    const [chat] = demo(tenant, 'chats', 0, 5).filter((c) => c.messages.length >= 3) as [Chat];
    const [contact] = demo(tenant, 'contacts', 0, 5) as [Contact];
    const newerCall = { ...call, updatedAt: later(call.updatedAt, 3600_000), notes: 'newer' };
    const newerChat = { ...chat, updatedAt: later(chat.updatedAt, 3600_000), messages: chat.messages.slice(0, -1), tags: ['newer'] };
    const sameTimeContact = { ...contact, displayName: 'Same Time Other Content' };

    await drop.deliver({ runId: 'r1', window: windowOf(0), records: { 'call-logs': [call], chats: [chat], contacts: [contact] } });
    await importManifest(harness.deps, tenant, drop.head?.path as string);
    await drop.deliver({ runId: 'r2', window: windowOf(1), records: { 'call-logs': [newerCall], chats: [newerChat], contacts: [sameTimeContact] } });
    await importManifest(harness.deps, tenant, drop.head?.path as string);
    await drop.deliver({ runId: 'r3', window: windowOf(2), records: { 'call-logs': [call], chats: [chat] } });
    const outcome = await importManifest(harness.deps, tenant, drop.head?.path as string);

    expect(outcome.status === 'imported' && outcome.counts.types['call-logs']).toEqual({ records: 1, inserted: 0, updated: 0, unchanged: 1 });
    expect((await harness.store.getCallLog(access(tenant), call.id))?.notes).toBe('newer');
    expect((await harness.store.getChat(access(tenant), chat.id))?.tags).toEqual(['newer']);
    expect((await harness.store.getContact(access(tenant), contact.id))?.displayName).toBe(contact.displayName);
    const transcript = await harness.store.chatTranscript(access(tenant), chat.id, { limit: 200 });
    expect(transcript.items.map((m) => m.id)).toEqual(newerChat.messages.map((m) => m.id));
  });
});

describe('drops delivered before file names carried the run id', () => {
  it('imports a legacy-named manifest and a later run over the same window beside it, in chain order, the newer versions winning', async () => {
    const tenant = 'imp-legacy-names';
    const drop = await harness.setUpTenant(tenant);
    const calls = demo(tenant, 'call-logs', 0, 10) as CallLog[];
    const contacts = demo(tenant, 'contacts', 0, 4) as Contact[];
    const legacy = await drop.deliver({
      runId: 'legacy-run',
      window: windowOf(0),
      records: { 'call-logs': calls, contacts },
      legacyNames: true,
      maxRecords: 25,
    });
    const legacyManifest = parseManifest(await readFile(join(harness.dropRoot, legacy.path)));
    expect(legacyManifest.files.map((file) => parseDropFilePath(file.path).runId)).toEqual(legacyManifest.files.map(() => null));
    const sha256Of = async (path: string) =>
      createHash('sha256')
        .update(await readFile(join(harness.dropRoot, path)))
        .digest('hex');
    const before = await Promise.all(legacyManifest.files.map((file) => sha256Of(file.path)));

    const newerCalls = calls.slice(0, 4).map((call) => ({ ...call, updatedAt: later(call.updatedAt, 3600_000), notes: 'newer' }));
    const newerContacts = contacts.map((contact) => ({ ...contact, updatedAt: later(contact.updatedAt, 3600_000), displayName: 'Newer Name' }));
    const redelivered = await drop.deliver({ runId: 'later-run', window: windowOf(0), records: { 'call-logs': newerCalls, contacts: newerContacts } });
    const redeliveredManifest = parseManifest(await readFile(join(harness.dropRoot, redelivered.path)));
    expect(redeliveredManifest.files.map((file) => parseDropFilePath(file.path).runId)).toEqual(redeliveredManifest.files.map(() => 'later-run'));
    expect(await Promise.all(legacyManifest.files.map((file) => sha256Of(file.path)))).toEqual(before);

    const report = await verifyDrop(new LocalDirectoryTarget({ root: harness.dropRoot }), tenant, { expectedHead: redelivered });
    expect(report.problems).toEqual([]);
    const pending = await findManifestsToImport(harness.deps, tenant);
    expect(pending).toEqual([legacy.path, redelivered.path]);
    for (const path of pending) expect((await importManifest(harness.deps, tenant, path)).status).toBe('imported');

    const snapshot = await harness.snapshot(tenant);
    expect(snapshot.callLogs).toHaveLength(calls.length);
    expect(snapshot.callLogs?.filter((doc) => doc['notes'] === 'newer').map((doc) => doc['_id'])).toEqual(newerCalls.map((call) => call.id).sort());
    for (const call of calls.slice(4)) expect((await harness.store.getCallLog(access(tenant), call.id))?.updatedAt).toBe(call.updatedAt);
    for (const contact of newerContacts)
      expect(await harness.store.getContact(access(tenant), contact.id)).toMatchObject({ displayName: 'Newer Name', updatedAt: contact.updatedAt });
  });
});

describe('rebuild', () => {
  it('rebuilds from the drop to exactly the incrementally built archive', async () => {
    const tenant = 'imp-rebuild';
    const drop = await harness.setUpTenant(tenant);
    const chats = demo(tenant, 'chats', 0, 15) as Chat[];
    for (let day = 0; day < 3; day += 1) {
      const updated =
        day === 0
          ? []
          : chats
              .slice(0, 4)
              .map((c) => ({ ...c, updatedAt: later(c.updatedAt, day * DAY), messages: c.messages.slice(0, Math.max(1, c.messages.length - day)) }));
      await drop.deliver({
        runId: `r${day}`,
        window: windowOf(day),
        records: { 'call-logs': demo(tenant, 'call-logs', day, 30), chats: day === 0 ? chats : updated, contacts: demo(tenant, 'contacts', day, 8) },
        maxRecords: 25,
      });
      await importManifest(harness.deps, tenant, drop.head?.path as string);
    }
    const incremental = await harness.snapshot(tenant);
    const importsBefore = (await harness.deps.imports.list(tenant)).map((r) => ({ path: r.path, sha256: r.sha256, status: r.status }));

    const result = await rebuildArchive(harness.deps, tenant);
    expect(result.failed).toEqual([]);
    expect(result.imported).toEqual(importsBefore.map((r) => r.path));
    expect(await harness.snapshot(tenant)).toEqual(incremental);
    expect((await harness.deps.imports.list(tenant)).map((r) => ({ path: r.path, sha256: r.sha256, status: r.status }))).toEqual(importsBefore);
  });

  it('refuses to rebuild from a drop that lacks imported manifests, dropping nothing, unless told to accept the loss', async () => {
    const tenant = 'imp-rebuild-short';
    const drop = await harness.setUpTenant(tenant);
    const paths: string[] = [];
    for (let day = 0; day < 2; day += 1) {
      await drop.deliver({ runId: `r${day}`, window: windowOf(day), records: { 'call-logs': demo(tenant, 'call-logs', day, 20) }, maxRecords: 25 });
      paths.push(drop.head?.path as string);
      await importManifest(harness.deps, tenant, drop.head?.path as string);
    }
    const incremental = await harness.snapshot(tenant);
    const importsBefore = await harness.deps.imports.list(tenant);
    // the server now lists the second day's manifest under another name (moved away by someone, or a wrong path)
    const second = paths[1] as string;
    await rename(join(harness.dropRoot, second), join(harness.dropRoot, `${second}.moved`));

    await expect(rebuildArchive(harness.deps, tenant)).rejects.toMatchObject({
      code: 'ERR_REBUILD_DROP_INCOMPLETE',
      message: expect.stringContaining(`no longer holds 1 manifest(s) the archive imported (${second})`) as string,
    });
    expect(await harness.snapshot(tenant)).toEqual(incremental);
    expect(await harness.deps.imports.list(tenant)).toEqual(importsBefore);

    const accepted = await rebuildArchive(harness.deps, tenant, undefined, { acceptMissing: true });
    expect(accepted).toMatchObject({ imported: [paths[0]], failed: [] });
    const rebuilt = await harness.snapshot(tenant);
    expect(rebuilt.callLogs?.length).toBeGreaterThan(0);
    expect(rebuilt.callLogs?.length).toBeLessThan(incremental.callLogs?.length ?? 0);
  });
});

describe('archive retention and legal holds', () => {
  it('purges expired records except those under a legal hold, and the dry run lists exactly what the purge deletes', async () => {
    const tenant = 'imp-purge';
    const now = new Date(T0.getTime() + 100 * DAY);
    harness.deps.now = () => now;
    try {
      const drop = await harness.setUpTenant(tenant, { archiveRetentionDays: { 'call-logs': 30, chats: 30, contacts: 60 } });
      const oldCalls = demo(tenant, 'call-logs', 0, 30) as CallLog[];
      const oldChats = demo(tenant, 'chats', 0, 10) as Chat[];
      const oldContacts = demo(tenant, 'contacts', 0, 10) as Contact[];
      await drop.deliver({ runId: 'r0', window: windowOf(0), records: { 'call-logs': oldCalls, chats: oldChats, contacts: oldContacts } });
      await drop.deliver({
        runId: 'r1',
        window: windowOf(90),
        records: { 'call-logs': demo(tenant, 'call-logs', 90, 10), contacts: demo(tenant, 'contacts', 50, 5) },
      });
      for (const path of await findManifestsToImport(harness.deps, tenant)) await importManifest(harness.deps, tenant, path);

      const heldChat = oldChats[0] as Chat;
      const heldNumber = (oldCalls[1] as CallLog).from.e164;
      const contactCall = oldCalls.find((c) => c.from.contactId !== undefined || c.to.contactId !== undefined);
      const heldContact = contactCall?.from.contactId ?? contactCall?.to.contactId ?? (oldContacts[0] as Contact).id;
      const rangeHeld = oldCalls[oldCalls.length - 1] as CallLog;
      await harness.deps.legalHolds.place(tenant, { subject: { kind: 'chat', chatId: heldChat.id }, reason: 'case 1', placedBy: 'u-legal' });
      await harness.deps.legalHolds.place(tenant, { subject: { kind: 'number', e164: heldNumber }, reason: 'case 2', placedBy: 'u-legal' });
      await harness.deps.legalHolds.place(tenant, { subject: { kind: 'contact', contactId: heldContact }, reason: 'case 3', placedBy: 'u-legal' });
      await harness.deps.legalHolds.place(tenant, {
        subject: { kind: 'range', from: rangeHeld.startedAt, to: later(rangeHeld.startedAt, 1) },
        reason: 'case 4',
        placedBy: 'u-legal',
      });
      const released = await harness.deps.legalHolds.place(tenant, {
        subject: { kind: 'chat', chatId: (oldChats[1] as Chat).id },
        reason: 'old case',
        placedBy: 'u-legal',
      });
      await harness.deps.legalHolds.release(tenant, released.id, 'u-legal');

      const preview = await purgeTenantArchive(harness.deps, tenant, { dryRun: true });
      const untouched = await harness.snapshot(tenant);
      const purged = await purgeTenantArchive(harness.deps, tenant, { dryRun: false });
      expect(purged?.types).toEqual(preview?.types);

      const previewCalls = preview?.types['call-logs']?.ids ?? [];
      expect(previewCalls.length).toBeGreaterThan(0);
      expect(previewCalls).not.toContain(rangeHeld.id);
      expect(previewCalls.some((id) => oldCalls.find((c) => c.id === id && [c.from.e164, c.to.e164, c.callerId].includes(heldNumber)))).toBe(false);
      expect(preview?.types.chats?.ids).not.toContain(heldChat.id);
      expect(preview?.types.chats?.ids).toContain((oldChats[1] as Chat).id);
      expect(preview?.types.contacts?.ids).not.toContain(heldContact);

      const after = await harness.snapshot(tenant);
      for (const [collection, type] of [
        ['callLogs', 'call-logs'],
        ['chats', 'chats'],
        ['contacts', 'contacts'],
      ] as const) {
        const ids = new Set(preview?.types[type]?.ids);
        expect(after[collection]?.map((d) => d._id)).toEqual(untouched[collection]?.filter((d) => !ids.has(d._id as string)).map((d) => d._id));
      }
      expect(after.chatMessages?.length).toBe((untouched.chatMessages?.length ?? 0) - (preview?.types.chats?.messages ?? 0));
      expect(after.chatMessages?.some((m) => m.chatId === heldChat.id)).toBe(true);
      expect(after.callLogs?.some((d) => d._id === rangeHeld.id)).toBe(true);
      expect(after.callLogs?.filter((d) => d.ix.updatedAt.getTime() >= now.getTime() - 30 * DAY).length).toBeGreaterThan(0);
      expect((await harness.controlPlane.audit.list(tenant)).map((e) => e.action)).toContain('archive.purged');
    } finally {
      harness.deps.now = () => new Date();
    }
  });

  it.each([
    [{ subject: { kind: 'number', e164: '0415' }, reason: 'x case', placedBy: 'u' }],
    [{ subject: { kind: 'range', from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, reason: 'x case', placedBy: 'u' }],
    [{ subject: { kind: 'chat', chatId: { $ne: '' } }, reason: 'x case', placedBy: 'u' }],
    [{ subject: { kind: 'contact', contactId: 'c1' }, reason: '', placedBy: 'u' }],
    [{ subject: { kind: 'everything' }, reason: 'x case', placedBy: 'u' }],
  ])('refuses the legal hold %j', async (input) => {
    expect(await codeOf(harness.deps.legalHolds.place('imp-purge', input))).toBe('ERR_LEGAL_HOLD_INVALID');
  });
});
