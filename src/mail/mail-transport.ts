import type { SendMailOptions } from 'nodemailer';
/** A message ready for the wire, as the send job hands it to a transport. */
export interface OutboundMail {
  /** The outbox id (the `.eml` file name of the file transport). */
  outboxId: string;
  /** When the message was queued (part of the file transport's file name). */
  queuedAt: Date;
  /** `MAIL_FROM`. */
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<outbox id@sender domain>`: the same on every attempt. */
  messageId: string;
}

/**
 * Where messages go: an SMTP server, or `.eml` files (the demo). `send` resolves with the server's reply once the
 * message is accepted, and rejects with a `RetentionError`: `ERR_MAIL_REJECTED` (permanent) or `ERR_MAIL_UNAVAILABLE`
 * (retry later).
 */
export interface MailTransport {
  /** One line for logs: kind, host and TLS, never a credential. */
  readonly description: string;
  send(mail: OutboundMail): Promise<{ response: string }>;
  close(): Promise<void>;
}

/**
 * The nodemailer message of `mail`, the same for every transport: automatic-mail headers (no auto-replies), and no
 * file or URL the message could make nodemailer read.
 *
 * @example
 * await transporter.sendMail(nodemailerMessage(mail));
 */
export function nodemailerMessage(mail: OutboundMail): SendMailOptions {
  return {
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    date: new Date(),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}
