import { DEMO_LOCALE_WEIGHTS, DEMO_LOCALES, type DemoLocale } from './demo-locales.js';
import { demoRecordId } from './demo-record-id.js';
import { SeededRandom } from './seeded-random.js';

/** An invented person from one locale. */
export interface DemoPerson {
  locale: DemoLocale;
  givenName: string;
  familyName: string;
  displayName: string;
  /** Latin spelling, lowercase, for addresses and handles: `sato.hina`. */
  latinHandle: string;
}

/** The fields of a demo contact that other records (calls, chats) reference. */
export interface DemoContactIdentity {
  id: string;
  person: DemoPerson;
  e164: string;
  email: string;
}

const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example.com'] as const;

/** Picks a locale by weight. */
export function pickLocale(random: SeededRandom): DemoLocale {
  const locale = DEMO_LOCALES[Number(random.weighted(DEMO_LOCALE_WEIGHTS))];
  if (locale === undefined) throw new RangeError('demo locale table is empty');
  return locale;
}

/** Invents a person from `locale` (or a weighted random locale). */
export function inventPerson(random: SeededRandom, locale: DemoLocale = pickLocale(random)): DemoPerson {
  const [givenName, givenLatin] = random.pick(locale.givenNames);
  const [familyName, familyLatin] = random.pick(locale.familyNames);
  const parts = locale.familyNameFirst ? [familyName, givenName] : [givenName, familyName];
  return {
    locale,
    givenName,
    familyName,
    displayName: parts.join(locale.nameSeparator),
    latinHandle: `${givenLatin}.${familyLatin}`,
  };
}

/** An E.164 number that looks like one from `locale`'s country (fictional ranges where a country has them). */
export function inventPhoneNumber(random: SeededRandom, locale: DemoLocale): string {
  const pattern = random.pick(locale.phonePatterns);
  let national = '';
  for (const char of pattern) {
    if (char === 'X') national += String(random.int(0, 9));
    else if (char === 'N') national += String(random.int(2, 9));
    else national += char;
  }
  return `+${locale.callingCode}${national}`;
}

/** An email address for `person` at a reserved example domain. */
export function inventEmail(random: SeededRandom, person: DemoPerson, variant = ''): string {
  const suffix = random.chance(0.4) ? String(random.int(1, 99)) : '';
  return `${person.latinHandle}${variant}${suffix}@${random.pick(EMAIL_DOMAINS)}`;
}

/**
 * The identity of the demo contact in `slot`: a pure function of (seed, slot), so a call or a chat can reference
 * a contact, and the contact generator produces the same name, number and address for it.
 */
export function demoContactIdentity(seed: string, slot: number): DemoContactIdentity {
  const random = SeededRandom.fromParts(seed, 'contact-identity', slot);
  const person = inventPerson(random);
  return {
    id: demoRecordId(seed, 'contacts', slot),
    person,
    e164: inventPhoneNumber(random, person.locale),
    email: inventEmail(random, person),
  };
}
