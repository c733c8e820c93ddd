import nodemailer, { type Transporter } from 'nodemailer';
import type { SMTPTransportOptions } from 'nodemailer';
import { describeMailTransport, type SmtpTransportSettings } from './mail-settings.js';
import { nodemailerMessage, type MailTransport, type OutboundMail } from './mail-transport.js';
import { smtpFailureError } from './smtp-failure.js';

/** Tunables of {@link SmtpMailTransport}. */
export interface SmtpMailTransportOptions {
  /** Milliseconds to wait for the TCP (or TLS) connection. Default 15 000. */
  connectionTimeoutMs?: number;
  /** Milliseconds to wait for the server's greeting. Default 15 000. */
  greetingTimeoutMs?: number;
  /** Milliseconds of silence on an open connection before giving up. Default 60 000. */
  socketTimeoutMs?: number;
  /**
   * Certificates (PEM) to trust besides the system's, for the test bed's self-signed server only. Production trusts a
   * private CA with `NODE_EXTRA_CA_CERTS`; verification itself is never turned off.
   */
  ca?: string;
}

/** The most any one send may take: connecting, the greeting and the exchange. The send job's lease outlasts it. */
export const SMTP_SEND_BUDGET_MS = 15_000 + 15_000 + 3 * 60_000;

/**
 * Sends through an SMTP server with nodemailer, one connection per message: `smtps://` is TLS from the first byte,
 * `?tls=starttls` requires the STARTTLS upgrade (a server not offering it fails the send), `?tls=off` never upgrades;
 * certificates are verified (TLS 1.2 or newer) whenever TLS is used. Failures become `ERR_MAIL_REJECTED` or
 * `ERR_MAIL_UNAVAILABLE` ({@link smtpFailureError}).
 *
 * @example
 * const smtp = new SmtpMailTransport({ kind: 'smtp', host: 'smtp.example.com', port: 587, tls: 'starttls' });
 * await smtp.send(mail);
 */
export class SmtpMailTransport implements MailTransport {
  readonly description: string;
  private readonly transporter: Transporter;
  private readonly where: string;

  constructor(settings: SmtpTransportSettings, options: SmtpMailTransportOptions = {}) {
    this.description = describeMailTransport(settings);
    this.where = `${settings.host}:${settings.port}`;
    const smtp: SMTPTransportOptions = {
      host: settings.host,
      port: settings.port,
      secure: settings.tls === 'implicit',
      requireTLS: settings.tls === 'starttls',
      ignoreTLS: settings.tls === 'off',
      tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(options.ca !== undefined ? { ca: options.ca } : {}) },
      connectionTimeout: options.connectionTimeoutMs ?? 15_000,
      greetingTimeout: options.greetingTimeoutMs ?? 15_000,
      socketTimeout: options.socketTimeoutMs ?? 60_000,
      ...(settings.auth !== undefined ? { auth: { user: settings.auth.user, pass: settings.auth.pass } } : {}),
      logger: false,
      debug: false,
    };
    this.transporter = nodemailer.createTransport(smtp);
  }

  async send(mail: OutboundMail): Promise<{ response: string }> {
    try {
      const info = (await this.transporter.sendMail(nodemailerMessage(mail))) as { response?: unknown };
      return { response: typeof info.response === 'string' ? info.response : '' };
    } catch (err) {
      throw smtpFailureError(err, this.where);
    }
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}
