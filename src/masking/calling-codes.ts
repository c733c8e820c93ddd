/**
 * Country calling codes (ITU-T E.164) of one and two digits; every other code has three. The codes are prefix-free,
 * so the country code of an international number is its first 1, 2 or 3 digits by this table alone.
 */
const ONE_DIGIT: ReadonlySet<string> = new Set(['1', '7']);
const TWO_DIGITS: ReadonlySet<string> = new Set([
  '20',
  '27',
  '30',
  '31',
  '32',
  '33',
  '34',
  '36',
  '39',
  '40',
  '41',
  '43',
  '44',
  '45',
  '46',
  '47',
  '48',
  '49',
  '51',
  '52',
  '53',
  '54',
  '55',
  '56',
  '57',
  '58',
  '60',
  '61',
  '62',
  '63',
  '64',
  '65',
  '66',
  '81',
  '82',
  '84',
  '86',
  '90',
  '91',
  '92',
  '93',
  '94',
  '95',
  '98',
]);

/**
 * The country calling code at the start of an international number's digits (without `+` or `00`).
 *
 * @example
 * callingCodeOf('4930123456');   // '49'
 * callingCodeOf('14155550100');  // '1'
 * callingCodeOf('351211234567'); // '351'
 */
export function callingCodeOf(digits: string): string {
  if (ONE_DIGIT.has(digits.slice(0, 1))) return digits.slice(0, 1);
  if (TWO_DIGITS.has(digits.slice(0, 2))) return digits.slice(0, 2);
  return digits.slice(0, 3);
}
