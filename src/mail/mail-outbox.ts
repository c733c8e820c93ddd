/**
 * The mail contract: what a feature hands the outbox, and the outbox's one method. Every message is written to the
 * control plane's `mailOutbox` collection first and sent by a job of the `mail` queue (see `QueuedMailOutbox`), so a
 * feature never talks to SMTP and an SMTP outage loses nothing.
 *
 * @example
 * const { id, duplicate } = await mail.enqueue({
 *   tenantId: 'acme',
 *   to: 'jo@acme.example',
 *   template: 'invitation',
 *   data: { inviteeName: 'Jo', inviterName: 'Olga', link, expiresAt: '2026-11-26 18:14 UTC', access: 'chats; export' },
 *   dedupeKey: `invitation:${token.id}`,
 * });
 */

/** The messages Retention sends; each has a subject and variables in `MAIL_TEMPLATES` and two files under `views/mail/`. */
export type MailTemplateId =
  | 'invitation'
  | 'password-reset'
  | 'password-changed'
  | 'email-verification'
  | 'email-changed'
  | 'two-factor-enabled'
  | 'two-factor-disabled'
  | 'two-factor-reset'
  | 'backup-codes-renewed'
  | 'two-factor-enforced'
  | 'new-sign-in'
  | 'two-factor-code-reused'
  | 'grants-changed'
  | 'run-failed'
  | 'schedule-paused'
  | 'import-refused'
  | 'alert-digest';

/** One message to send. */
export interface OutgoingMail {
  tenantId: string;
  /** One recipient address. */
  to: string;
  template: MailTemplateId;
  /** The template's variables: plain values, escaped by the HTML template. */
  data: Record<string, string | number | boolean | null>;
  /** Same key, same message: queued once, sent at most once (e.g. `password-reset:<token id>`). */
  dedupeKey: string;
}

/**
 * Where features put mail. `enqueue` resolves once the message is stored (its send job is queued at once, or by the
 * worker later when Redis did not take it); `duplicate` when the dedupe key was queued before (nothing new stored).
 * It rejects with `ERR_MAIL_INVALID` (recipient, dedupe key), `ERR_MAIL_TEMPLATE_INVALID` (template, variables) or
 * `ERR_TENANT_NOT_FOUND` before storing anything.
 */
export interface MailOutbox {
  enqueue(mail: OutgoingMail): Promise<{ id: string; duplicate: boolean }>;
}
