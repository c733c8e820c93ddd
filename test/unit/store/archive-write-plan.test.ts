import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { CallLog } from '../../../src/records/call-log-schema.js';
import type { Chat } from '../../../src/records/chat-schema.js';
import { generateRecords } from '../../../src/records/demo-generator.js';
import type { RecordType } from '../../../src/records/record-type.js';
import { MAX_BSON_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, planArchiveWrite } from '../../../src/store/archive/archive-writer.js';

const SRC = 'acme/2026/05/12/manifest-r1.json';
const from = new Date('2026-05-11T00:00:00.000Z');
const first = <T extends RecordType>(type: T) => {
  const [record] = [...generateRecords({ seed: 9, tenantId: 'acme', type, from, to: new Date(from.getTime() + 86_400_000), ratesPerHour: { [type]: 10 } })];
  return record as NonNullable<typeof record>;
};

function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i += 1) value = { n: value };
  return value;
}
const writeBytes = (call: CallLog): number => {
  const plan = planArchiveWrite('call-logs', call, SRC);
  if (!plan.ok) throw new Error('rejected');
  const { updateOne } = plan.writes[0]?.operation as { updateOne: { filter: object; update: object } };
  return BSON.calculateObjectSize({ q: updateOne.filter, u: updateOne.update, upsert: true });
};

describe('planArchiveWrite', () => {
  const call = first('call-logs') as CallLog;

  it('plans a stored document of every record, and a room plus one per message for a chat', () => {
    const chat = first('chats') as Chat;
    const plan = planArchiveWrite('chats', chat, SRC);
    expect(plan.ok && plan.writes.map((w) => w.collection)).toEqual(['chats', ...chat.messages.map(() => 'chatMessages')]);
    expect(planArchiveWrite('call-logs', call, SRC)).toMatchObject({ ok: true, writes: [{ collection: 'callLogs', kind: 'record' }] });
  });

  it('rejects a write of 16 MiB, and plans one a byte smaller', () => {
    const room = MAX_BSON_DOCUMENT_BYTES - 1 - writeBytes({ ...call, attributes: { blob: '' } });
    expect(writeBytes({ ...call, attributes: { blob: 'x'.repeat(room) } })).toBe(MAX_BSON_DOCUMENT_BYTES - 1);
    const rejected = planArchiveWrite('call-logs', { ...call, attributes: { blob: 'x'.repeat(room + 1) } }, SRC);
    expect(rejected).toMatchObject({ ok: false, rejection: { reason: 'too-large', bytes: MAX_BSON_DOCUMENT_BYTES, issues: [{ path: '(record)' }] } });
    expect(!rejected.ok && rejected.rejection.issues[0]?.message).toMatch(/^\(record\): would be stored as a callLogs document of \d+ BSON bytes/);
  });

  it('rejects a whole chat when its room is too large: no message is planned without it', () => {
    const chat = first('chats') as Chat;
    const plan = planArchiveWrite('chats', { ...chat, attributes: { blob: 'x'.repeat(MAX_BSON_DOCUMENT_BYTES) } }, SRC);
    expect(plan).toMatchObject({ ok: false, rejection: { reason: 'too-large', issues: [{ path: '(record)' }] } });
  });

  it(`accepts ${MAX_DOCUMENT_DEPTH} levels of nesting and rejects one more, naming where`, () => {
    expect(planArchiveWrite('call-logs', { ...call, attributes: { deep: nested(MAX_DOCUMENT_DEPTH - 2) } }, SRC).ok).toBe(true);
    const plan = planArchiveWrite('call-logs', { ...call, attributes: { deep: nested(MAX_DOCUMENT_DEPTH - 1) } }, SRC);
    expect(plan).toMatchObject({
      ok: false,
      rejection: { reason: 'too-deep', issues: [{ path: '(record)', message: expect.stringContaining('attributes.deep.n.n') }] },
    });
    expect(planArchiveWrite('call-logs', { ...call, attributes: { list: [[[[nested(MAX_DOCUMENT_DEPTH)]]]] } }, SRC)).toMatchObject({
      ok: false,
      rejection: { reason: 'too-deep' },
    });
  });

  it('rejects a field name with a NUL character anywhere, which BSON cannot carry', () => {
    for (const attributes of [{ 'a\u0000b': 1 }, { ok: [{ 'x\u0000': true }] }]) {
      expect(planArchiveWrite('call-logs', { ...call, attributes }, SRC)).toMatchObject({ ok: false, rejection: { reason: 'field-name' } });
    }
    expect(planArchiveWrite('call-logs', { ...call, attributes: { text: 'a\u0000b' } }, SRC).ok).toBe(true);
  });
});
