import { describe, expect, it } from 'vitest';
import { dayIsOver, describeDay, knownTimeZone, localDay, localTimeOfDay } from '../../../src/alerts/alert-days.js';
import { digestData, MAX_DIGEST_LINES } from '../../../src/alerts/alert-digest.js';
import type { RecordedAlertEvent } from '../../../src/alerts/alert-events-store.js';

const GRACE = 5 * 60_000;

describe('the days of alert digests', () => {
  it.each([
    ['2026-11-23T22:59:59Z', 'Europe/Berlin', '2026-11-23'],
    ['2026-11-23T23:00:00Z', 'Europe/Berlin', '2026-11-24'],
    ['2026-11-23T23:30:00Z', 'UTC', '2026-11-23'],
    ['2026-11-24T03:00:00Z', 'America/New_York', '2026-11-23'],
    ['2026-11-23T10:00:00Z', 'Not/AZone', '2026-11-23'],
  ])('%s is day %s in %s', (at, timeZone, day) => {
    expect(localDay(new Date(at), timeZone)).toBe(day);
  });

  it.each([
    ['2026-11-24T00:04:59Z', ['UTC'], false],
    ['2026-11-24T00:05:00Z', ['UTC'], true],
    ['2026-11-23T23:10:00Z', ['Europe/Berlin'], true],
    ['2026-11-23T23:10:00Z', ['Europe/Berlin', 'UTC'], false],
    ['2026-11-24T05:04:00Z', ['America/New_York'], false],
    ['2026-11-24T05:06:00Z', ['America/New_York'], true],
  ] as const)('at %s, 2026-11-23 is over in %j (5 minutes of grace): %s', (now, timeZones, over) => {
    expect(dayIsOver('2026-11-23', timeZones, new Date(now), GRACE)).toBe(over);
  });

  it('names a day, and a time of day, in the tenant’s zone', () => {
    expect(describeDay('2026-11-23', 'Europe/Berlin')).toBe('Monday 23 November 2026 (Europe/Berlin)');
    expect(localTimeOfDay(new Date('2026-11-23T13:02:00Z'), 'Europe/Berlin')).toBe('14:02');
    expect(knownTimeZone('Mars/Olympus')).toBe('UTC');
    expect(knownTimeZone(undefined)).toBe('UTC');
  });

  it('lists a day’s events with their local time and link, and counts those beyond the limit', () => {
    const event = (i: number): RecordedAlertEvent => ({
      tenantId: 'acme',
      key: `run-failed:r${i}`,
      kind: 'run-failed',
      at: new Date(Date.UTC(2026, 10, 23, 8, i % 60)),
      day: '2026-11-23',
      timeZone: 'UTC',
      summary: `Run r${i} (schedule) failed: ERR_X: broken`,
      path: `/jobs/r${i}`,
      digestedAt: null,
    });
    const two = digestData([event(1), event(2)], '2026-11-23', 'UTC', 'https://acme.portal.test');
    expect(two).toEqual({
      period: 'Monday 23 November 2026 (UTC)',
      count: 2,
      summary:
        '08:01 Run r1 (schedule) failed: ERR_X: broken — https://acme.portal.test/jobs/r1\n08:02 Run r2 (schedule) failed: ERR_X: broken — https://acme.portal.test/jobs/r2',
    });
    const many = digestData(
      Array.from({ length: MAX_DIGEST_LINES + 3 }, (_, i) => event(i)),
      '2026-11-23',
      'UTC',
      'https://acme.portal.test',
    );
    expect(many.count).toBe(MAX_DIGEST_LINES + 3);
    expect(many.summary.split('\n')).toHaveLength(MAX_DIGEST_LINES + 1);
    expect(many.summary.split('\n').at(-1)).toBe('… and 3 more: see the Jobs page, https://acme.portal.test/jobs');
  });
});
