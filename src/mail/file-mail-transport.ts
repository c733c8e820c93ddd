import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { RetentionError } from '../errors.js';
import { describeMailTransport } from './mail-settings.js';
import { nodemailerMessage, type MailTransport, type OutboundMail } from './mail-transport.js';

/** The file name of a message: when it was queued, then its outbox id, so a retry writes the same file. */
export function emlFileName(mail: Pick<OutboundMail, 'queuedAt' | 'outboxId'>): string {
  return `${mail.queuedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-${mail.outboxId}.eml`;
}

/**
 * Writes each message, exactly as it would go over SMTP, to `<directory>/<queued at>-<outbox id>.eml` (written to a
 * temporary name, then renamed): the demo's transport without `SMTP_URL`. A retry of the same message writes the same
 * file again, so there is never a second copy.
 *
 * @example
 * const files = new FileMailTransport('/work/data/mail');
 */
export class FileMailTransport implements MailTransport {
  readonly description: string;
  private readonly transporter: Transporter;

  constructor(private readonly directory: string) {
    this.description = describeMailTransport({ kind: 'file', directory });
    this.transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  }

  async send(mail: OutboundMail): Promise<{ response: string }> {
    const path = join(this.directory, emlFileName(mail));
    try {
      const info = (await this.transporter.sendMail(nodemailerMessage(mail))) as { message?: unknown };
      if (!Buffer.isBuffer(info.message)) throw new Error('nodemailer returned no message');
      await mkdir(this.directory, { recursive: true });
      await writeFile(`${path}.part`, info.message, { mode: 0o600 });
      await rename(`${path}.part`, path);
    } catch (err) {
      throw new RetentionError('ERR_MAIL_UNAVAILABLE', `could not write ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return { response: `written to ${path}` };
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}
