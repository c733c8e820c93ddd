import { join } from 'node:path';
import ejs from 'ejs';
import { RetentionError } from '../errors.js';
import type { MailTemplateId } from './mail-outbox.js';
import { COMMON_MAIL_VARIABLES, MAIL_TEMPLATES, isMailTemplateId, type MailTemplateSpec, type MailValue } from './mail-templates.js';

/** A message as it is sent: subject, plain text and HTML. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** Control characters a value must not bring into a subject line. */
const CONTROL = /\p{Cc}+/gu;
/**
 * EJS's `escape` for plain-text bodies: no HTML entities (it is not HTML); control characters, line breaks included,
 * become spaces, so a value cannot start lines of its own (a template that prints a multi-line value splits it first).
 */
const escapeText = (value: unknown): string => (value === undefined || value === null ? '' : String(value).replace(CONTROL, ' '));

/**
 * The variables `template` needs that `data` lacks, and values that are not plain (string, finite number, boolean,
 * null). Empty when `data` is complete.
 *
 * @example
 * missingMailVariables('invitation', { link: 'https://…' }); // ['inviteeName', 'inviterName', 'access', 'expiresAt']
 */
export function missingMailVariables(template: MailTemplateId, data: Readonly<Record<string, unknown>>): string[] {
  const spec: MailTemplateSpec = MAIL_TEMPLATES[template];
  return spec.variables.filter((name) => {
    if (!Object.hasOwn(data, name)) return true;
    const value = data[name];
    return !(value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)));
  });
}

/**
 * Renders a message of the registry from `views/mail/`: the subject from `MAIL_TEMPLATES`, the text body
 * (`<id>.text.ejs` with `layout.text.ejs`'s footer) and the HTML body (`<id>.html.ejs` inside `layout.html.ejs`,
 * every value escaped with `<%= %>`). `vars` holds the template's variables and the common ones
 * (`tenantName`, `portalUrl`, `recipient`). Throws `ERR_MAIL_TEMPLATE_INVALID` for an unknown template, a missing
 * variable, or a template that does not render.
 *
 * @example
 * const mail = await renderMail(viewsDirectory, 'invitation', { ...data, tenantName: 'Acme Support', portalUrl, recipient });
 * mail.subject; // 'Olga invited you to the Retention portal of Acme Support'
 */
export async function renderMail(viewsDirectory: string, template: MailTemplateId, vars: Readonly<Record<string, MailValue>>): Promise<RenderedMail> {
  if (!isMailTemplateId(template)) throw new RetentionError('ERR_MAIL_TEMPLATE_INVALID', `there is no mail template "${String(template).slice(0, 60)}"`);
  const missing = [...missingMailVariables(template, vars), ...COMMON_MAIL_VARIABLES.filter((name) => typeof vars[name] !== 'string')];
  if (missing.length > 0) {
    throw new RetentionError(
      'ERR_MAIL_TEMPLATE_INVALID',
      `mail template "${template}" needs ${missing.join(', ')} (plain values: text, numbers, true/false or null)`,
    );
  }
  const spec: MailTemplateSpec = MAIL_TEMPLATES[template];
  const subject = spec.subject(vars).replace(CONTROL, ' ').replace(/\s+/g, ' ').trim().slice(0, 250);
  const reason = spec.reason(vars);
  const dir = join(viewsDirectory, 'mail');
  const options = { views: [dir], root: dir, cache: true };
  try {
    const locals = { ...vars, subject, reason };
    const textBody = await ejs.renderFile(join(dir, `${template}.text.ejs`), locals, { ...options, escape: escapeText });
    const text = await ejs.renderFile(join(dir, 'layout.text.ejs'), { ...locals, body: textBody.trim() }, { ...options, escape: escapeText });
    const htmlBody = await ejs.renderFile(join(dir, `${template}.html.ejs`), locals, options);
    const html = await ejs.renderFile(join(dir, 'layout.html.ejs'), { ...locals, body: htmlBody }, options);
    return { subject, text: `${text.trim()}\n`, html };
  } catch (err) {
    throw new RetentionError(
      'ERR_MAIL_TEMPLATE_INVALID',
      `mail template "${template}" did not render: ${err instanceof Error ? err.message.split('\n').at(-1) : String(err)}`,
      {
        cause: err,
      },
    );
  }
}
