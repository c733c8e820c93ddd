import type { RecordType } from '../record-type.js';
import type { DemoDirectory } from './demo-directory.js';
import { demoContactIdentity, type DemoContactIdentity } from './demo-people.js';
import { demoRecordId } from './demo-record-id.js';
import type { DemoTimeGrid } from './demo-time-grid.js';
import type { SeededRandom } from './seeded-random.js';

/** Longest gap between a record's creation and its last update in demo data (30 days). */
export const MAX_UPDATE_LAG_MS = 30 * 24 * 3_600_000;

/** Everything a record builder needs to derive one record from its slot. */
export interface DemoRecordContext {
  seed: string;
  tenantId: string;
  slot: number;
  /** `updatedAt` of the record, already fixed inside the slot. */
  updatedAtMs: number;
  /** The record's own stream of random numbers. */
  random: SeededRandom;
  directory: DemoDirectory;
  /** Share of records whose last update comes after their creation. */
  updatedShare: number;
  /** The contacts' grid, to reference contacts that exist before a call or chat. */
  contactGrid: DemoTimeGrid;
}

/** An ISO-8601 UTC timestamp with milliseconds. */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

/** The common fields of a demo record. */
export function demoRecordBase(context: DemoRecordContext, type: RecordType, createdAtMs: number) {
  return {
    id: demoRecordId(context.seed, type, context.slot),
    tenantId: context.tenantId,
    createdAt: isoAt(createdAtMs),
    updatedAt: isoAt(context.updatedAtMs),
    schemaVersion: 1 as const,
  };
}

/** How long before `updatedAt` the record was created: 0 for most, up to 30 days for the updated share. */
export function demoUpdateLag(context: DemoRecordContext): number {
  return context.random.chance(context.updatedShare) ? context.random.skewed(60_000, MAX_UPDATE_LAG_MS) : 0;
}

/** A known contact who existed before `atMs`, or `undefined` for an unknown customer (about 30 %). */
export function referenceDemoContact(context: DemoRecordContext, atMs: number): DemoContactIdentity | undefined {
  if (context.random.chance(0.3)) return undefined;
  const slot = context.contactGrid.slotAt(atMs) - context.random.int(1, 5000);
  return slot < 0 ? undefined : demoContactIdentity(context.seed, slot);
}

/**
 * A copy of `fields` without its `undefined` values, so optional fields are absent rather than `undefined`.
 * Built by plain assignment: object spread of conditional fields is an order of magnitude slower in V8.
 */
export function withoutUndefined<T extends object>(fields: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    const value: unknown = (fields as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}
