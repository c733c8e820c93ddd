import type { Contact } from '../contact-schema.js';
import { DEMO_ORGANIZATIONS, DEMO_TAGS, DEMO_TITLES } from './demo-locales.js';
import { demoContactIdentity, inventEmail, inventPhoneNumber, pickLocale } from './demo-people.js';
import { demoRecordBase, demoUpdateLag, isoAt, withoutUndefined, type DemoRecordContext } from './demo-record-context.js';
import { demoRecordId } from './demo-record-id.js';

type Email = Contact['emails'][number];
type Phone = Contact['phones'][number];
type Social = Contact['social'][number];

const TIERS = ['bronze', 'silver', 'gold', 'platinum'] as const;

function socialNetworkFor(country: string): Social['network'] {
  if (country === 'JP' || country === 'TH' || country === 'TW') return 'line';
  if (country === 'CN') return 'wechat';
  if (country === 'BR' || country === 'MX' || country === 'IN') return 'whatsapp';
  return 'linkedin';
}

/**
 * The demo contact of one slot. Its name, first number and first email come from
 * {@link demoContactIdentity}, so calls and chats that reference it agree; the rest (more emails and phones,
 * address, company, custom fields, and for a share a later edit, merge or deletion) comes from the slot's stream.
 */
export function buildDemoContact(context: DemoRecordContext): Contact {
  const { random } = context;
  const identity = demoContactIdentity(context.seed, context.slot);
  const { person } = identity;
  const locale = person.locale;
  const lag = demoUpdateLag(context);
  const base = demoRecordBase(context, 'contacts', context.updatedAtMs - lag);

  const emails: Email[] = [{ type: random.chance(0.6) ? 'work' : 'home', value: identity.email }];
  for (const type of ['home', 'other'] as const) {
    if (!random.chance(0.35)) continue;
    const value = inventEmail(random, person, type === 'home' ? '.home' : '.alt');
    if (!emails.some((email) => email.value === value)) emails.push({ type, value });
  }
  const phones: Phone[] = [{ type: 'mobile', e164: identity.e164 }];
  if (random.chance(0.4)) phones.push({ type: 'work', e164: inventPhoneNumber(random, locale) });
  if (random.chance(0.15)) phones.push({ type: 'home', e164: inventPhoneNumber(random, pickLocale(random)) });

  const city = random.pick(locale.cities);
  const address = random.chance(0.6)
    ? {
        street: random.pick(locale.streets).replace('#', String(random.int(1, 999))),
        city: city.city,
        region: city.region,
        postalCode: city.postalCode,
        country: locale.country,
      }
    : undefined;
  const social: Social[] = random.chance(0.3) ? [{ network: socialNetworkFor(locale.country), handle: `@${person.latinHandle.replace('.', '_')}` }] : [];
  const externalIds: Record<string, string> = {};
  if (random.chance(0.6)) externalIds['crm'] = `CRM-${random.int(100_000, 999_999)}`;
  if (random.chance(0.3)) externalIds['zendesk'] = String(random.int(1_000_000, 9_999_999));
  const customFields: Contact['customFields'] = {
    tier: random.pick(TIERS),
    lifetimeValue: random.skewed(0, 5_000_000) / 100,
    marketingOptIn: random.chance(0.55),
    lastSurveyScore: random.chance(0.5) ? random.int(0, 10) : null,
  };
  const tags: string[] = random.chance(0.4) ? [random.pick(DEMO_TAGS)] : [];

  const ownerStaffId = random.chance(0.5) ? random.pick(context.directory.staff).staffId : undefined;
  const fate = lag > 0 ? random.weighted({ edited: 88, deleted: 8, merged: 4 }) : 'edited';
  const mergedSlot = context.slot - random.int(1, 1000);
  const mergedInto = fate === 'merged' && mergedSlot >= 0 ? demoRecordId(context.seed, 'contacts', mergedSlot) : undefined;

  const named = random.chance(0.9);
  return withoutUndefined<Contact>({
    ...base,
    attributes: {},
    displayName: person.displayName,
    firstName: named ? person.givenName : undefined,
    lastName: named ? person.familyName : undefined,
    title: random.chance(0.4) ? random.pick(DEMO_TITLES) : undefined,
    organization: random.chance(0.5) ? random.pick(DEMO_ORGANIZATIONS) : undefined,
    emails,
    phones,
    address,
    timezone: random.chance(0.8) ? locale.timeZone : undefined,
    language: random.chance(0.85) ? locale.tag : undefined,
    social,
    externalIds,
    customFields,
    tags,
    ownerStaffId,
    mergedInto,
    deletedAt: fate === 'deleted' ? isoAt(context.updatedAtMs) : undefined,
  });
}
