import { maskEmailAddress } from './mask-email-address.js';
import { maskPhoneNumber } from './mask-phone-number.js';

/** Archive filter fields whose values are personal data: a phone number (or its prefix) or an email address. */
export const PERSONAL_DATA_FILTERS = ['number', 'phone', 'email'] as const;

/**
 * A list filter with its personal values masked (`number`/`phone` as phone numbers, `email` as an address), other
 * fields unchanged: what the audit log keeps of a search or an export, so that it never holds a searched number or
 * address in full (it is read by users who may see personal data masked, and shipped to SIEMs).
 *
 * @example
 * maskFilterValues({ number: '+4930123456712', outcome: 'missed' }); // { number: '+49 ••• ••• ••12', outcome: 'missed' }
 */
export function maskFilterValues<V>(values: Readonly<Record<string, V>>): Record<string, V | string> {
  return Object.fromEntries(
    Object.entries(values).map(([field, value]) => {
      if (typeof value !== 'string') return [field, value];
      if (field === 'email') return [field, maskEmailAddress(value)];
      return [field, field === 'number' || field === 'phone' ? maskPhoneNumber(value) : value];
    }),
  );
}
