import { FileMailTransport } from './file-mail-transport.js';
import type { MailSettings } from './mail-settings.js';
import type { MailTransport } from './mail-transport.js';
import { SmtpMailTransport, type SmtpMailTransportOptions } from './smtp-mail-transport.js';

/** Options of {@link createMailTransport}. */
export type MailTransportOptions = SmtpMailTransportOptions;

/**
 * The transport `settings.transport` names.
 *
 * @example
 * const transport = createMailTransport(config.mail);
 */
export function createMailTransport(settings: MailSettings, options: MailTransportOptions = {}): MailTransport {
  const transport = settings.transport;
  return transport.kind === 'file' ? new FileMailTransport(transport.directory) : new SmtpMailTransport(transport, options);
}
