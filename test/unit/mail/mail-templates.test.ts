import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MailTemplateId } from '../../../src/mail/mail-outbox.js';
import { renderMail } from '../../../src/mail/mail-rendering.js';
import { MAIL_TEMPLATE_IDS, MAIL_TEMPLATES } from '../../../src/mail/mail-templates.js';
import { findViewsDirectory } from '../../../src/portal/view-rendering.js';

/** Every template id of the contract, once: TypeScript refuses this object when an id is missing or unknown. */
const EVERY_TEMPLATE: Record<MailTemplateId, true> = {
  invitation: true,
  'password-reset': true,
  'password-changed': true,
  'email-verification': true,
  'email-changed': true,
  'two-factor-enabled': true,
  'two-factor-disabled': true,
  'two-factor-reset': true,
  'backup-codes-renewed': true,
  'two-factor-enforced': true,
  'new-sign-in': true,
  'two-factor-code-reused': true,
  'grants-changed': true,
  'run-failed': true,
  'schedule-paused': true,
  'import-refused': true,
  'alert-digest': true,
};
const IDS = Object.keys(EVERY_TEMPLATE) as MailTemplateId[];
const views = findViewsDirectory();

/** A value that would break out of the HTML if printed unescaped. */
const hostile = (name: string) => `<b class="x">${name} & "quotes"</b>`;
const common = { tenantName: 'Acme <Support> & Co', portalUrl: 'https://acme.retention.example', recipient: 'jo@acme.example' };

describe('the mail template registry', () => {
  it('has exactly the ids of the contract', () => {
    expect([...MAIL_TEMPLATE_IDS].sort()).toEqual([...IDS].sort());
  });

  it.each(IDS)('%s: has a subject, a reason and both files, no fallback', (id) => {
    const spec = MAIL_TEMPLATES[id];
    expect(typeof spec.subject).toBe('function');
    expect(typeof spec.reason).toBe('function');
    expect(existsSync(join(views, 'mail', `${id}.text.ejs`)), `views/mail/${id}.text.ejs`).toBe(true);
    expect(existsSync(join(views, 'mail', `${id}.html.ejs`)), `views/mail/${id}.html.ejs`).toBe(true);
  });

  it.each(IDS)('%s: renders from its variables, names the tenant, says who sent it and why, escapes the HTML', async (id) => {
    const spec = MAIL_TEMPLATES[id];
    const data = Object.fromEntries(spec.variables.map((name) => [name, hostile(name)]));
    const mail = await renderMail(views, id, { ...data, ...common });

    expect(mail.subject).toContain(common.tenantName);
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject).not.toContain('link');
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('Sent by Retention, the data-retention portal of');
      expect(body).toContain(common.recipient);
      expect(body).toContain(' because ');
    }
    expect(mail.text).toContain(common.tenantName);
    expect(mail.html).toContain('Acme &lt;Support&gt; &amp; Co');
    expect(mail.html).not.toContain('<b class="x">');
    expect(mail.html).not.toContain('<Support>');
    expect(mail.text).not.toContain('&lt;');
    // Every variable the registry lists is used by the templates.
    const sources = ['text', 'html'].map((kind) => readFileSync(join(views, 'mail', `${id}.${kind}.ejs`), 'utf8')).join('\n');
    for (const name of spec.variables) expect(sources, `${id} uses ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
  });

  it('refuses a message missing a variable, naming it', async () => {
    await expect(renderMail(views, 'invitation', { ...common, inviteeName: 'Jo' })).rejects.toMatchObject({
      code: 'ERR_MAIL_TEMPLATE_INVALID',
      message: expect.stringContaining('inviterName'),
    });
  });

  it('keeps control characters of a value out of the subject and the text', async () => {
    const data = {
      inviteeName: 'Jo\r\nBcc: evil@example.com',
      inviterName: 'Olga\u0007',
      access: 'chats',
      link: 'https://x.example/invitation/t',
      expiresAt: 'soon',
    };
    const mail = await renderMail(views, 'invitation', { ...data, ...common });
    expect(mail.subject).toBe('Olga invited you to the Retention portal of Acme <Support> & Co');
    expect(mail.text).not.toContain('\r');
    expect(mail.text).not.toContain('\u0007');
    expect(mail.text).not.toMatch(/^Bcc:/m);
    expect(mail.text).toContain('Hello Jo Bcc: evil@example.com,');
    expect(mail.text).toMatch(/^https:\/\/x\.example\/invitation\/t$/m);
  });

  it('prints a multi-line value (the alert digest) one line per item', async () => {
    const mail = await renderMail(views, 'alert-digest', { ...common, period: 'the last day', count: 2, summary: 'run 1 failed\nrun 2 failed' });
    expect(mail.text).toContain('- run 1 failed\n- run 2 failed\n');
    expect(mail.html).toContain('<li>run 1 failed</li><li>run 2 failed</li>');
  });
});
