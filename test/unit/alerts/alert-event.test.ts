import { describe, expect, it } from 'vitest';
import { alertMessage, alertTime, recipientDedupeKey, type AlertEvent } from '../../../src/alerts/alert-event.js';
import { schedulePausedAlert } from '../../../src/alerts/schedule-paused-alert.js';
import { missingMailVariables } from '../../../src/mail/mail-rendering.js';

const AT = new Date('2026-11-23T13:02:09.000Z');
const EVENTS: AlertEvent[] = [
  {
    kind: 'run-failed',
    tenantId: 'acme',
    runId: 'acme.r 1',
    trigger: 'schedule',
    startedAt: AT,
    failedAt: AT,
    code: 'ERR_HOST_KEY_MISMATCH',
    message: 'the host key changed',
  },
  {
    kind: 'schedule-paused',
    tenantId: 'acme',
    failedRuns: 3,
    lastRunId: 'acme.r1',
    lastErrorCode: 'ERR_TARGET_UNREACHABLE',
    lastErrorMessage: 'refused',
    pausedAt: AT,
  },
  {
    kind: 'import-refused',
    tenantId: 'acme',
    manifestPath: 'acme/2026/11/23/manifest-r1.json',
    code: 'ERR_IMPORT_CHECKSUM_MISMATCH',
    message: 'checksum',
    file: undefined,
    refusedAt: AT,
  },
];

describe('alert messages', () => {
  it.each(EVENTS)('$kind: gives its template every variable, plain values only', (event) => {
    const message = alertMessage(event);
    expect(message.template).toBe(event.kind);
    expect(missingMailVariables(message.template, message.data)).toEqual([]);
    expect(message.at).toEqual(AT);
  });

  it('keys each event by what it is about: the run, the pause’s newest run, the manifest and refusal code', () => {
    const run = { ...(EVENTS[0] as Extract<AlertEvent, { kind: 'run-failed' }>), runId: 'acme.r1' };
    expect([run, ...EVENTS.slice(1)].map((event) => alertMessage(event).key)).toEqual([
      'run-failed:acme.r1',
      'schedule-paused:acme.r1',
      'import-refused:acme/2026/11/23/manifest-r1.json#ERR_IMPORT_CHECKSUM_MISMATCH',
    ]);
  });

  it('hashes a key that is not printable ASCII or too long, so it stays a valid dedupe key', () => {
    const spaced = alertMessage(EVENTS[0] as AlertEvent).key;
    expect(spaced).toMatch(/^run-failed:h[0-9a-f]{40}$/);
    const long = alertMessage({ ...(EVENTS[2] as Extract<AlertEvent, { kind: 'import-refused' }>), manifestPath: `acme/${'x'.repeat(300)}.json` }).key;
    expect(long).toMatch(/^import-refused:h[0-9a-f]{40}$/);
    expect(recipientDedupeKey(long, 'jo@acme.example')).toMatch(/^[\x21-\x7e]{1,200}$/);
  });

  it('gives each recipient a key of its own without spelling out the address', () => {
    const a = recipientDedupeKey('run-failed:acme.r1', 'a@acme.example');
    const b = recipientDedupeKey('run-failed:acme.r1', 'b@acme.example');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^run-failed:acme\.r1:[0-9a-f]{16}$/);
    expect(a).not.toContain('acme.example');
    expect(recipientDedupeKey('run-failed:acme.r1', 'a@acme.example')).toBe(a);
  });

  it('links the run, the Jobs page and the dashboard', () => {
    expect(EVENTS.map((event) => alertMessage(event).path)).toEqual(['/jobs/acme.r%201', '/jobs', '/']);
  });

  it('prints times in UTC to the minute', () => {
    expect(alertTime(AT)).toBe('2026-11-23 13:02 UTC');
  });

  it('builds the pause alert from the pause: the newest run and its last error', () => {
    const pause = {
      failedRuns: 2,
      lastRun: {
        id: 'acme.r9',
        errors: [
          { at: AT, code: 'ERR_A', message: 'first' },
          { at: AT, code: 'ERR_B', message: 'last' },
        ],
      },
      pausedAt: AT,
      version: 4,
    };
    expect(schedulePausedAlert('acme', pause)).toEqual({
      kind: 'schedule-paused',
      tenantId: 'acme',
      failedRuns: 2,
      lastRunId: 'acme.r9',
      lastErrorCode: 'ERR_B',
      lastErrorMessage: 'last',
      pausedAt: AT,
    });
    expect(schedulePausedAlert('acme', { ...pause, lastRun: { id: 'acme.r9', errors: [] } }).lastErrorCode).toBe('ERR_UNKNOWN');
  });
});
