import { describe, expect, it } from 'vitest';
import { smtpFailureError } from '../../../src/mail/smtp-failure.js';

const failure = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'failed')), fields);

describe('smtpFailureError: permanent and transient SMTP failures', () => {
  it.each([
    [
      '550 to RCPT TO (unknown recipient)',
      { code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', response: '550 5.1.1 <jo@acme.example>: unknown' },
      'ERR_MAIL_REJECTED',
    ],
    ['552 to DATA (too large)', { code: 'EMESSAGE', responseCode: 552, command: 'DATA', response: '552 too big' }, 'ERR_MAIL_REJECTED'],
    ['553 to MAIL FROM', { code: 'EENVELOPE', responseCode: 553, command: 'MAIL FROM', response: '553 sender refused' }, 'ERR_MAIL_REJECTED'],
    ['503 to RCPT TO (bad sequence: another connection may do)', { code: 'EENVELOPE', responseCode: 503, command: 'RCPT TO' }, 'ERR_MAIL_UNAVAILABLE'],
    ['450 to RCPT TO (mailbox busy)', { code: 'EENVELOPE', responseCode: 450, command: 'RCPT TO', response: '450 busy' }, 'ERR_MAIL_UNAVAILABLE'],
    ['421 to CONN (service closing)', { code: 'ECONNECTION', responseCode: 421, command: 'CONN' }, 'ERR_MAIL_UNAVAILABLE'],
    ['554 greeting (no service here)', { code: 'EPROTOCOL', responseCode: 554, command: 'CONN' }, 'ERR_MAIL_UNAVAILABLE'],
    ['535 to AUTH (bad credentials)', { code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' }, 'ERR_MAIL_UNAVAILABLE'],
    ['STARTTLS refused', { code: 'ETLS', responseCode: 502, command: 'STARTTLS' }, 'ERR_MAIL_UNAVAILABLE'],
    ['connection refused', { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }, 'ERR_MAIL_UNAVAILABLE'],
    ['timeout', { code: 'ETIMEDOUT', command: 'CONN' }, 'ERR_MAIL_UNAVAILABLE'],
    ['DNS', { code: 'EDNS', originalCode: 'ENOTFOUND' }, 'ERR_MAIL_UNAVAILABLE'],
    ['self-signed certificate', { code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }, 'ERR_MAIL_UNAVAILABLE'],
    ['no recipient at all', { code: 'EENVELOPE', command: 'API', message: 'No recipients defined' }, 'ERR_MAIL_INVALID'],
    ['something else', { message: 'boom' }, 'ERR_MAIL_UNAVAILABLE'],
  ])('%s', (_name, fields, code) => {
    const error = smtpFailureError(failure(fields), 'smtp.example.com:587');
    expect(error.code).toBe(code);
    expect(error.message).not.toContain('jo@acme.example');
    expect(error.message).toMatch(code === 'ERR_MAIL_INVALID' ? /cannot be sent/ : /smtp\.example\.com:587/);
  });

  it('says what to fix: credentials, certificates', () => {
    expect(smtpFailureError(failure({ code: 'EAUTH', responseCode: 535 }), 'h:25').message).toMatch(/fix the user name and password in SMTP_URL/);
    expect(smtpFailureError(failure({ code: 'ESOCKET', originalCode: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }), 'h:25').message).toMatch(
      /verified TLS \(certificate has expired\).*NODE_EXTRA_CA_CERTS/,
    );
  });
});
