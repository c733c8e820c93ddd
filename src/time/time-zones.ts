import { RetentionError } from '../errors.js';
import { isIanaTimeZone } from '../records/record-fields.js';

/**
 * The time zones a user can choose for the portal's times: every IANA zone this runtime knows (canonical names, as
 * `Intl.supportedValuesOf` lists them), with `UTC` first.
 */
export const TIME_ZONES: readonly string[] = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((zone) => zone !== 'UTC')];

/**
 * A time zone typed or chosen by a user, in its canonical IANA spelling (`europe/berlin` → `Europe/Berlin`), or
 * `ERR_TIME_ZONE_INVALID` saying what is accepted.
 *
 * @example
 * parseTimeZone(' Europe/Berlin '); // 'Europe/Berlin'
 * parseTimeZone('CEST');            // throws ERR_TIME_ZONE_INVALID
 */
export function parseTimeZone(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '' || !isIanaTimeZone(text)) {
    const shown = text === '' ? 'nothing' : `"${text.slice(0, 64)}"`;
    throw new RetentionError('ERR_TIME_ZONE_INVALID', `${shown} is not a time zone: choose one from the list, such as Europe/Berlin, America/New_York or UTC`);
  }
  const canonical = new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  // ICU spells UTC's aliases (Etc/UTC, Etc/GMT, Zulu...) in several ways; the portal says UTC.
  return /^(?:Etc\/)?(?:UTC|UCT|GMT|Zulu|Universal|Greenwich)$/i.test(canonical) ? 'UTC' : canonical;
}
