import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: 'ENOENT' });
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env, noFiles);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to fail');
}

const FROM = 'Retention <retention@example.com>';

describe('mail settings: SMTP_URL, SMTP_URL_FILE and MAIL_FROM', () => {
  it('leaves mail off without SMTP_URL', () => {
    expect(loadConfig({}, noFiles).mail).toBeUndefined();
    expect(loadConfig({ MAIL_FROM: FROM }, noFiles).mail).toBeUndefined();
  });

  it.each([
    ['smtps://mailer:s%40cret@smtp.example.com', { host: 'smtp.example.com', port: 465, tls: 'implicit', auth: { user: 'mailer', pass: 's@cret' } }],
    ['smtps://smtp.example.com:2465', { host: 'smtp.example.com', port: 2465, tls: 'implicit' }],
    ['smtp://mailer:pw@smtp.example.com?tls=starttls', { host: 'smtp.example.com', port: 587, tls: 'starttls', auth: { user: 'mailer', pass: 'pw' } }],
    ['smtp://relay.internal:2525/?tls=starttls', { host: 'relay.internal', port: 2525, tls: 'starttls' }],
    ['smtp://127.0.0.1?tls=off', { host: '127.0.0.1', port: 25, tls: 'off' }],
    ['smtp://[::1]:1025?tls=off', { host: '::1', port: 1025, tls: 'off' }],
  ])('reads %s', (url, transport) => {
    const config = loadConfig({ SMTP_URL: url, MAIL_FROM: FROM }, noFiles);
    expect(config.mail).toEqual({ from: FROM, transport: { kind: 'smtp', ...transport } });
    expect(Object.isFrozen(config.mail)).toBe(true);
  });

  it('reads SMTP_URL from SMTP_URL_FILE', () => {
    const config = loadConfig({ SMTP_URL_FILE: '/run/secrets/smtp', MAIL_FROM: 'retention@example.com' }, (path) => {
      if (path !== '/run/secrets/smtp') throw new Error('missing');
      return 'smtps://u:p@smtp.example.com\n';
    });
    expect(config.mail).toMatchObject({
      from: 'retention@example.com',
      transport: { host: 'smtp.example.com', tls: 'implicit', auth: { user: 'u', pass: 'p' } },
    });
  });

  it.each([
    ['plain smtp:// without saying tls=off', 'smtp://mailer:hunter2@smtp.example.com:25', /smtp:\/\/ alone does not; say how the connection is protected/],
    ['an unknown tls mode', 'smtp://mailer:hunter2@smtp.example.com?tls=maybe', /tls=starttls or tls=off/],
    [
      'nodemailer options that weaken TLS',
      'smtp://mailer:hunter2@smtp.example.com?tls=starttls&tls.rejectUnauthorized=false',
      /only option is tls=.*"tls\.rejectUnauthorized"/,
    ],
    ['ignoreTLS', 'smtp://mailer:hunter2@smtp.example.com?ignoreTLS=true', /only option is tls=/],
    ['tls=off on smtps://', 'smtps://mailer:hunter2@smtp.example.com?tls=off', /smtps:\/\/ without \?tls=/],
    ['another scheme', 'http://mailer:hunter2@smtp.example.com', /starting with smtps:\/\/ or smtp:\/\//],
    ['no URL at all', 'hunter2', /does not parse/],
    ['no host', 'smtps://', /does not parse|naming the SMTP server/],
    ['a path', 'smtps://mailer:hunter2@smtp.example.com/inbox', /without a path/],
    ['port 0', 'smtps://mailer:hunter2@smtp.example.com:0', /port from 1 to 65535/],
    ['a port out of range', 'smtps://mailer:hunter2@smtp.example.com:70000', /does not parse/],
    ['a password without user', 'smtps://:hunter2@smtp.example.com', /user name before the password/],
    ['a bad percent-encoding', 'smtps://mailer:hunter%zz2@smtp.example.com', /percent-encoded|does not parse/],
  ])('refuses %s with a clear message that hides the value', (_name, url, message) => {
    const problems = problemsOf({ SMTP_URL: url, MAIL_FROM: FROM });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SMTP_URL: expected /);
    expect(problems[0]).toMatch(message);
    expect(problems[0]).not.toContain('hunter');
    expect(problems[0]).toContain('(value hidden)');
  });

  it('needs MAIL_FROM with SMTP_URL', () => {
    expect(problemsOf({ SMTP_URL: 'smtps://smtp.example.com' })).toEqual([
      'MAIL_FROM: required when SMTP_URL is set: the sender of every message, e.g. "Retention <retention@example.com>"',
    ]);
    expect(problemsOf({ SMTP_URL: 'smtp://smtp.example.com' })).toHaveLength(2);
  });

  it.each(['retention', 'Retention <retention>', 'a@b.example, c@d.example', 'Evil\r\nBcc: x@y.example <a@b.example>', '"Quoted" <a@b.example>'])(
    'refuses MAIL_FROM=%j',
    (from) => {
      const problems = problemsOf({ SMTP_URL: 'smtps://smtp.example.com', MAIL_FROM: from });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^MAIL_FROM: expected an address such as retention@example.com/);
    },
  );

  it('accepts MAIL_FROM as an address or a name and an address', () => {
    expect(loadConfig({ SMTP_URL: 'smtps://smtp.example.com', MAIL_FROM: ' retention@example.com ' }, noFiles).mail?.from).toBe('retention@example.com');
    expect(loadConfig({ SMTP_URL: 'smtps://smtp.example.com', MAIL_FROM: 'Acme Retention  <retention@acme.example>' }, noFiles).mail?.from).toBe(
      'Acme Retention <retention@acme.example>',
    );
  });
});
