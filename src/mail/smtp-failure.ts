import { RetentionError } from '../errors.js';
import { maskEmailAddress } from '../masking/mask-email-address.js';

/** What nodemailer attaches to the errors it raises (the parts read here). */
interface SmtpErrorFields {
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  response?: unknown;
  permanent?: unknown;
  command?: unknown;
  message?: unknown;
}

/** Node's codes of a failed certificate check or TLS handshake: a self-signed or expired certificate, a wrong host name, … */
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|^ERR_TLS|^ERR_SSL/;

const ADDRESS = /[^\s<>()[\]\\,;:"'@]+@[^\s<>()[\]\\,;:"'@]+/g;

/** Addresses in a server reply are masked: errors are logged and shown on the outbox page. */
const masked = (text: string): string =>
  text
    .replace(ADDRESS, (address) => maskEmailAddress(address))
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);

/**
 * The outbox's reading of a failed SMTP send (`where` names the server, e.g. `smtp.example.com:587`):
 *
 * - `ERR_MAIL_REJECTED` (permanent: the message fails at once, no retry) for a 5xx reply except 503 to the message's
 *   own commands (`MAIL FROM`, `RCPT TO`, `DATA`; RFC 5321: the same message would be refused again), e.g. 550 unknown
 *   recipient or 552 too large;
 * - `ERR_MAIL_INVALID` (permanent) for a message nodemailer refuses to send (no valid recipient);
 * - `ERR_MAIL_UNAVAILABLE` (retried with backoff) for everything else: connection refused or reset, a timeout, DNS, a
 *   4xx reply, a reply to the session's commands (a greeting refusing service, STARTTLS not available), a failed TLS
 *   handshake or certificate check, refused credentials (535): those are the server's or the operator's to fix
 *   (`SMTP_URL`), and the next attempt after the fix goes through.
 *
 * Messages name the server, the SMTP code and the reply with addresses masked, never a credential.
 *
 * @example
 * smtpFailureError(Object.assign(new Error('…'), { code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 <x@y.example> unknown' }), 'mx:25').code; // 'ERR_MAIL_REJECTED'
 */
export function smtpFailureError(err: unknown, where: string): RetentionError {
  const e: SmtpErrorFields = typeof err === 'object' && err !== null ? (err as SmtpErrorFields) : {};
  const code = typeof e.code === 'string' ? e.code : undefined;
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const reply = typeof e.response === 'string' && e.response !== '' ? ` ("${masked(e.response)}")` : '';
  const detail = typeof e.message === 'string' ? masked(e.message) : String(err).slice(0, 300);
  const command = typeof e.command === 'string' ? ` in reply to ${e.command}` : '';

  if (code === 'EAUTH' || code === 'ENOAUTH') {
    return new RetentionError(
      'ERR_MAIL_UNAVAILABLE',
      `the SMTP server ${where} refused the credentials of SMTP_URL${responseCode !== undefined ? ` (${responseCode})` : ''}${reply}: fix the user name and password in SMTP_URL; the message is tried again`,
      { cause: err },
    );
  }
  const commandWord = typeof e.command === 'string' ? e.command.split(' ')[0]?.toUpperCase() : undefined;
  const aboutTheMessage = commandWord === 'MAIL' || commandWord === 'RCPT' || commandWord === 'DATA';
  if (aboutTheMessage && responseCode !== undefined && responseCode >= 500 && responseCode < 600 && responseCode !== 503) {
    return new RetentionError('ERR_MAIL_REJECTED', `the SMTP server ${where} refused the message for good: ${responseCode}${command}${reply}`, { cause: err });
  }
  if ((code === 'EENVELOPE' || code === 'EMESSAGE') && responseCode === undefined) {
    return new RetentionError('ERR_MAIL_INVALID', `the message cannot be sent: ${detail}`, { cause: err });
  }
  if (code !== 'ETLS' && responseCode !== undefined) {
    return new RetentionError('ERR_MAIL_UNAVAILABLE', `the SMTP server ${where} answered ${responseCode}${command}${reply}: the message is tried again`, {
      cause: err,
    });
  }
  const original = typeof e.originalCode === 'string' ? e.originalCode : code;
  const what =
    original === 'ECONNREFUSED'
      ? 'refused the connection'
      : code === 'ETIMEDOUT' || original === 'ETIMEDOUT'
        ? 'did not answer in time'
        : code === 'EDNS' || original === 'ENOTFOUND' || original === 'EAI_AGAIN'
          ? 'could not be found (DNS)'
          : code === 'ETLS' || (original !== undefined && TLS_CODES.test(original))
            ? `could not be reached over verified TLS (${detail}): fix the server's certificate, or trust its CA with NODE_EXTRA_CA_CERTS`
            : `could not be reached (${code ?? 'error'}: ${detail})`;
  return new RetentionError('ERR_MAIL_UNAVAILABLE', `the SMTP server ${where} ${what}: the message is tried again`, { cause: err });
}
