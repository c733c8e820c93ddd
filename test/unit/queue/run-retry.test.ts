import { describe, expect, it } from 'vitest';
import { retryRefusal } from '../../../src/queue/run-retry.js';
import type { Run, RunStatus, RunTrigger } from '../../../src/store/runs-store.js';

const HOUR = 3_600_000;

function run(id: string, hour: number, status: RunStatus, trigger: RunTrigger = 'schedule', windowHour = hour): Run {
  const to = new Date(Date.UTC(2026, 2, 1, windowHour));
  return {
    id,
    tenantId: 'acme',
    trigger,
    status,
    windows: { 'call-logs': { from: new Date(to.getTime() - HOUR), to }, chats: { from: new Date(to.getTime() - HOUR), to } },
    createdAt: new Date(Date.UTC(2026, 2, 1, hour)),
  } as Run;
}

describe('retryRefusal', () => {
  it('allows a failed scheduled run with nothing after it, or only failed runs and backfills after it', () => {
    const failed = run('a', 1, 'failed');
    expect(retryRefusal(failed, [])).toBeUndefined();
    expect(retryRefusal(failed, [run('b', 2, 'failed'), run('c', 3, 'done', 'backfill')])).toBeUndefined();
  });

  it.each<[RunStatus, RunTrigger]>([
    ['done', 'schedule'],
    ['running', 'schedule'],
    ['done', 'manual'],
  ])('refuses a failed scheduled run once a later %s %s run covered its windows', (status, trigger) => {
    expect(retryRefusal(run('a', 1, 'failed'), [run('b', 2, status, trigger)])).toContain('needs no retry');
  });

  it('ignores runs created before it', () => {
    expect(retryRefusal(run('a', 5, 'failed'), [run('b', 2, 'done')])).toBeUndefined();
  });

  it('refuses a run that did not fail', () => {
    expect(retryRefusal(run('a', 1, 'done'), [])).toBe('Only a failed run can be retried; this one is done.');
    expect(retryRefusal(run('a', 1, 'running'), [])).toBe('Only a failed run can be retried; this one is still running.');
  });

  it('allows a failed backfill after later scheduled runs, refuses it once a later backfill of the same range ran', () => {
    const backfill = run('a', 1, 'failed', 'backfill', 1);
    expect(retryRefusal(backfill, [run('s', 2, 'done')])).toBeUndefined();
    expect(retryRefusal(backfill, [run('o', 3, 'done', 'backfill', 7)]), 'another range').toBeUndefined();
    expect(retryRefusal(backfill, [run('f', 3, 'failed', 'backfill', 1)]), 'its retry failed too').toBeUndefined();
    expect(retryRefusal(backfill, [run('r', 4, 'running', 'backfill', 1)])).toContain('A later backfill of the same range');
  });
});
