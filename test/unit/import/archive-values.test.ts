import { describe, expect, it } from 'vitest';
import { importBackoff } from '../../../src/queue/import-queues.js';
import { RetentionError } from '../../../src/errors.js';
import { archiveDatabaseName } from '../../../src/store/archive/archive-databases.js';
import { chatMessageKey, versionKey } from '../../../src/store/archive/archive-documents.js';
import { normalizePhonePrefix } from '../../../src/store/archive/phone-prefix.js';
import { parseRetentionSettings } from '../../../src/tenants/retention-settings.js';

const base = {
  mode: 'online',
  dataTypes: ['chats'],
  schedule: { cron: '0 2 * * *' },
  source: { kind: 'demo', seed: 1 },
  target: { kind: 'local', directory: '/srv/drop' },
};

describe('archive retention settings', () => {
  it('accepts days per type and leaves them out by default', () => {
    expect(parseRetentionSettings(base).archiveRetentionDays).toBeUndefined();
    expect(parseRetentionSettings({ ...base, archiveRetentionDays: { chats: 365, 'call-logs': 30 } }).archiveRetentionDays).toEqual({
      chats: 365,
      'call-logs': 30,
    });
  });
  it.each([[{ chats: 0 }], [{ chats: 1.5 }], [{ emails: 30 }], [{ chats: '30' }], [{ chats: 40_000 }]])('refuses %j', (days) => {
    expect(() => parseRetentionSettings({ ...base, archiveRetentionDays: days })).toThrow(expect.objectContaining({ code: 'ERR_SETTINGS_INVALID' }));
  });
});

describe('archive values', () => {
  it('orders versions exactly, beyond milliseconds', () => {
    expect(versionKey('2026-11-23T17:00:00Z')).toBe('2026-11-23T17:00:00.000000000Z');
    expect(versionKey('2026-11-23T17:00:00.5Z')).toBe(versionKey('2026-11-23T17:00:00.500Z'));
    expect(versionKey('2026-11-23T17:00:00.1234Z') < versionKey('2026-11-23T17:00:00.1235Z')).toBe(true);
    expect(versionKey('2026-11-23T17:00:00.999Z') < versionKey('2026-11-23T17:00:01Z')).toBe(true);
  });

  it('keys chat messages so no two id pairs collide', () => {
    expect(chatMessageKey('a:b', 'c')).not.toBe(chatMessageKey('a', 'b:c'));
  });

  it('names archive databases within the MongoDB limit, uniquely', () => {
    expect(archiveDatabaseName('retention_', 'acme')).toBe('retention_acme');
    const long = archiveDatabaseName('retention_', `${'a'.repeat(62)}b`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(archiveDatabaseName('retention_', `${'a'.repeat(62)}c`));
  });

  it.each([
    ['+1 (415) 555-01', '+141555501'],
    ['0044 20 7946', '+44207946'],
    ['+81.3.1234', '+8131234'],
  ])('normalises the number %s to %s', (input, expected) => {
    expect(normalizePhonePrefix(input)).toBe(expected);
  });

  it.each(['415 555', '+0 123', '++1', '+1 415 x', '+1234567890123456'])('refuses the number %s', (input) => {
    expect(() => normalizePhonePrefix(input)).toThrow(expect.objectContaining({ code: 'ERR_ARCHIVE_FILTER_INVALID' }));
  });

  it('retries a waiting import soon and a failing one later', () => {
    const busy = new RetentionError('ERR_ARCHIVE_BUSY', 'busy');
    expect(importBackoff(1, 'import', busy)).toBe(1_000);
    expect(importBackoff(40, 'import', busy)).toBe(15_000);
    expect(importBackoff(1, 'import', new Error('connection reset'))).toBe(5_000);
    expect(importBackoff(3, 'import', new Error('connection reset'))).toBe(20_000);
    expect(importBackoff(30, 'import', new Error('connection reset'))).toBe(600_000);
  });
});
