import { describe, expect, it } from 'vitest';
import { RetentionError } from '../../../src/errors.js';
import { parseRetentionSettings } from '../../../src/tenants/retention-settings.js';

/** The cron and time-zone checks remember their answers per string (issue 15.3); the answers must stay the same. */

const withSchedule = (cron: string, timezone: string) => ({
  mode: 'offline',
  dataTypes: ['chats'],
  schedule: { cron, timezone },
  source: { kind: 'demo', seed: 1 },
  target: { kind: 'local', directory: '/srv/drop' },
});

const outcome = (cron: string, timezone: string): string => {
  try {
    parseRetentionSettings(withSchedule(cron, timezone));
    return 'ok';
  } catch (err) {
    return err instanceof RetentionError ? err.code : 'other';
  }
};

describe('schedule checks, asked again and again', () => {
  it.each<[string, string, string]>([
    ['0 2 * * *', 'Europe/Berlin', 'ok'],
    ['0 2 * * *', 'Mars/Olympus', 'ERR_SETTINGS_INVALID'],
    ['0 25 * * *', 'UTC', 'ERR_SETTINGS_INVALID'],
    ['0 2 * * * *', 'UTC', 'ERR_SETTINGS_INVALID'],
    ['*/15 * * * 1-5', 'America/New_York', 'ok'],
  ])('%j in %s: %s, the same every time', (cron, timezone, expected) => {
    for (let round = 0; round < 3; round += 1) expect(outcome(cron, timezone)).toBe(expected);
  });

  it('still answers right once more distinct values were checked than it remembers', () => {
    for (let minute = 0; minute < 1_200; minute += 1) expect(outcome(`${minute % 60} ${Math.floor(minute / 60) % 24} * * *`, 'UTC')).toBe('ok');
    expect(outcome('0 2 * * *', 'Mars/Olympus')).toBe('ERR_SETTINGS_INVALID');
    expect(outcome('61 2 * * *', 'UTC')).toBe('ERR_SETTINGS_INVALID');
  });
});
