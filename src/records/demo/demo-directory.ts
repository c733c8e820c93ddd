import { inventPerson } from './demo-people.js';
import { SeededRandom } from './seeded-random.js';

/** A staff member (agent) of the demo tenant. */
export interface DemoStaff {
  staffId: string;
  name: string;
  /** Direct line, in the fictional 555-01XX range. */
  e164: string;
}

/** A queue (skill group) calls and chats wait in. */
export interface DemoQueue {
  id: string;
  name: string;
  /** The number customers dial to reach this queue. */
  e164: string;
}

/** The tenant's people and queues the generator draws from. */
export interface DemoDirectory {
  staff: readonly DemoStaff[];
  queues: readonly DemoQueue[];
}

const STAFF_COUNT = 40;

const QUEUES: readonly DemoQueue[] = [
  { id: 'q-sales', name: 'Sales', e164: '+12125550190' },
  { id: 'q-support', name: 'Technical Support', e164: '+12125550191' },
  { id: 'q-billing', name: 'Billing', e164: '+12125550192' },
  { id: 'q-ja-support', name: '日本語サポート', e164: '+12125550193' },
  { id: 'q-es-soporte', name: 'Soporte en español', e164: '+12125550194' },
  { id: 'q-ar-support', name: 'الدعم العربي', e164: '+12125550195' },
  { id: 'q-vip', name: 'VIP Concierge ⭐', e164: '+12125550196' },
];

/** The demo tenant's staff and queues for `seed`: a pure function of the seed. */
export function buildDemoDirectory(seed: string): DemoDirectory {
  const staff: DemoStaff[] = [];
  for (let index = 0; index < STAFF_COUNT; index += 1) {
    const person = inventPerson(SeededRandom.fromParts(seed, 'staff', index));
    staff.push({
      staffId: `staff-${String(index + 1).padStart(3, '0')}`,
      name: person.displayName,
      e164: `+12125550${100 + index}`,
    });
  }
  return { staff, queues: QUEUES };
}
