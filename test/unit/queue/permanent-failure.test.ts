import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { RetentionError } from '../../../src/errors.js';
import { finalFailureMessage, isPermanentFailure, toJobError } from '../../../src/queue/permanent-failure.js';

describe('finalFailureMessage', () => {
  it.each([
    'SFTP server 10.0.0.5:22 refused to write acme/x.json ("Failure"); a later attempt may succeed',
    'SFTP server 10.0.0.5:22 timed out writing acme/x.json; it will be retried',
    'local target failed on acme/x.json: EIO; the operation can be retried',
    'source answered 503, the chunk will be retried later',
  ])('promises no further attempt in the last message: %s', (message) => {
    const final = finalFailureMessage(message, { attemptsMade: 8, permanent: false, trigger: 'schedule' });
    expect(final).not.toMatch(/retried|later attempt|retry/i);
    expect(final).toMatch(/ \(gave up after 8 attempts; the run failed, and the next run delivers its windows again\)$/);
  });

  it('says a backfill is delivered only when started again (the schedule never covers a past range)', () => {
    const final = finalFailureMessage('connection reset; a later attempt may succeed', { attemptsMade: 1, permanent: false, trigger: 'backfill' });
    expect(final).toBe('connection reset (gave up after 1 attempt; the run failed, and its range is delivered only when the backfill is started again)');
    expect(final).not.toMatch(/next run/);
  });

  it('leaves a permanent error as it is, minus any retry promise', () => {
    expect(finalFailureMessage('the SFTP root is read-only: nothing can be written', { attemptsMade: 1, permanent: true, trigger: 'manual' })).toBe(
      'the SFTP root is read-only: nothing can be written',
    );
  });
});

describe('permanent failures', () => {
  it.each(['ERR_TARGET_READ_ONLY', 'ERR_RUN_ENDED', 'ERR_TARGET_AUTH'] as const)('%s is not retried', (code) => {
    const err = new RetentionError(code, 'x');
    expect(isPermanentFailure(err)).toBe(true);
    expect(toJobError(err)).toBeInstanceOf(UnrecoverableError);
  });

  it.each(['ERR_TARGET_DISK_FULL', 'ERR_TARGET_UNREACHABLE', 'ERR_TARGET_SIZE_MISMATCH'] as const)(
    '%s is retried (space may be freed, a server comes back)',
    (code) => {
      expect(isPermanentFailure(new RetentionError(code, 'x'))).toBe(false);
    },
  );
});
