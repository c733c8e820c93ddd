import { createHash } from 'node:crypto';
import type { MailTemplateId } from '../mail/mail-outbox.js';

/** A run of the tenant failed for good: no further attempt will be made (each run alerts once). */
export interface RunFailedAlert {
  kind: 'run-failed';
  tenantId: string;
  runId: string;
  /** `schedule`, `manual` or `backfill`. */
  trigger: string;
  startedAt: Date;
  failedAt: Date;
  /** The failure's error code and message (messages carry no secrets). */
  code: string;
  message: string;
}

/** The tenant's schedule was paused after `failedRuns` failed runs in a row (by the worker or the jobs page). */
export interface SchedulePausedAlert {
  kind: 'schedule-paused';
  tenantId: string;
  failedRuns: number;
  /** The newest failed run of the streak: the pause's identity (one alert per pause). */
  lastRunId: string;
  lastErrorCode: string;
  lastErrorMessage: string;
  pausedAt: Date;
}

/** The online archive refused a manifest of the tenant's drop (integrity): nothing of it was imported. */
export interface ImportRefusedAlert {
  kind: 'import-refused';
  tenantId: string;
  manifestPath: string;
  code: string;
  message: string;
  /** The listed file at fault, when the refusal is about one. */
  file: string | undefined;
  refusedAt: Date;
}

/** Something a tenant's alert recipients are told about. */
export type AlertEvent = RunFailedAlert | SchedulePausedAlert | ImportRefusedAlert;

/** The kinds of {@link AlertEvent}; each is also the mail template of its message. */
export type AlertKind = AlertEvent['kind'];

/** What became of one alert. */
export type AlertOutcome =
  /** Mailed one by one: `queued` messages stored in the outbox, `failed` recipients whose message could not be. */
  | { status: 'queued'; queued: number; failed: number }
  /** Daily digest: recorded for the day's digest (`duplicate`: it was recorded before). */
  | { status: 'recorded'; duplicate: boolean }
  /**
   * Nothing sent: `alerts-off` (the tenant saved an empty list), `no-recipient` (no settings and no active owner),
   * `no-mail` (this process has no mail configured), `error` (the settings or the store could not be read; logged).
   */
  | { status: 'not-sent'; reason: 'alerts-off' | 'no-recipient' | 'no-mail' | 'error' };

/**
 * Where alerts go: the worker and the portal hand their events to it. {@link AlertSink.raise} never throws: an alert
 * that cannot be queued is logged, and the run or import it is about goes on as if there were no alerts.
 *
 * @example
 * await alerts.raise({ kind: 'run-failed', tenantId, runId, trigger: 'schedule', startedAt, failedAt, code, message });
 */
export interface AlertSink {
  raise(event: AlertEvent): Promise<AlertOutcome>;
}

/** A plain value a mail template prints. */
type MailData = Record<string, string | number | boolean | null>;

/** What an event becomes: its mail, its dedupe key, and its line in a daily digest. */
export interface AlertMessage {
  template: MailTemplateId & AlertKind;
  data: MailData;
  /** The event's identity (`run-failed:<run id>`): one message per recipient and key, one digest entry per key. */
  key: string;
  /** One line for the digest, without the time and without a link. */
  summary: string;
  /** The portal page with the details (`/jobs/<run id>`), relative to the tenant's portal address. */
  path: string;
  /** When it happened (the run failed, the schedule paused, the manifest was refused). */
  at: Date;
}

/** A UTC time as the alert mails show it: `2026-11-23 18:14 UTC`. */
export function alertTime(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const PRINTABLE = /^[\x21-\x7e]+$/;
const hashed = (value: string, length: number): string => createHash('sha256').update(value).digest('hex').slice(0, length);

/** `<kind>:<subject>`, or `<kind>:h<hash of subject>` when the subject is long or not printable ASCII (dedupe keys are). */
function eventKey(kind: AlertKind, subject: string): string {
  return subject.length <= 140 && PRINTABLE.test(subject) ? `${kind}:${subject}` : `${kind}:h${hashed(subject, 40)}`;
}

/**
 * The dedupe key of one recipient's message for an event or digest key: the key and a hash of the address, so each
 * recipient gets the message once and no address is spelled out in the key.
 *
 * @example
 * recipientDedupeKey('run-failed:acme.r1', 'oncall@acme.example'); // 'run-failed:acme.r1:3f2a…' (16 hex digits)
 */
export function recipientDedupeKey(key: string, recipient: string): string {
  return `${key}:${hashed(recipient, 16)}`;
}

const clip = (text: string, length: number): string => (text.length > length ? `${text.slice(0, length - 1)}…` : text);

/**
 * The message of an alert event: the template and its variables, the dedupe key (run failed: the run; schedule
 * paused: the newest failed run of the streak, so the worker and the jobs page noticing the same pause alert once;
 * import refused: the manifest and the refusal's code, so a retry refused for another reason alerts again), the
 * digest line and the portal page with the details.
 *
 * @example
 * alertMessage(event).template; // 'run-failed'
 */
export function alertMessage(event: AlertEvent): AlertMessage {
  switch (event.kind) {
    case 'run-failed':
      return {
        template: 'run-failed',
        data: {
          runId: event.runId,
          trigger: event.trigger,
          startedAt: alertTime(event.startedAt),
          failedAt: alertTime(event.failedAt),
          errorCode: event.code,
          errorMessage: event.message,
        },
        key: eventKey('run-failed', event.runId),
        summary: `Run ${event.runId} (${event.trigger}) failed: ${event.code}: ${clip(event.message, 300)}`,
        path: `/jobs/${encodeURIComponent(event.runId)}`,
        at: event.failedAt,
      };
    case 'schedule-paused':
      return {
        template: 'schedule-paused',
        data: {
          failures: event.failedRuns,
          lastRunId: event.lastRunId,
          lastErrorCode: event.lastErrorCode,
          lastErrorMessage: event.lastErrorMessage,
          pausedAt: alertTime(event.pausedAt),
        },
        key: eventKey('schedule-paused', event.lastRunId),
        summary: `The schedule was paused after ${event.failedRuns} failed ${event.failedRuns === 1 ? 'run' : 'runs in a row'} (last: ${event.lastErrorCode}); resume it on the Jobs page`,
        path: '/jobs',
        at: event.pausedAt,
      };
    case 'import-refused':
      return {
        template: 'import-refused',
        data: {
          tenantId: event.tenantId,
          manifestPath: event.manifestPath,
          errorCode: event.code,
          errorMessage: event.message,
          file: event.file ?? null,
          refusedAt: alertTime(event.refusedAt),
        },
        key: eventKey('import-refused', `${event.manifestPath}#${event.code}`),
        summary: `The online archive refused ${event.manifestPath}: ${event.code}: ${clip(event.message, 300)}`,
        path: '/',
        at: event.refusedAt,
      };
  }
}
