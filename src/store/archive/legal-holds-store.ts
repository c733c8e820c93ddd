import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { z } from 'zod';
import { RetentionError } from '../../errors.js';
import { E164_PATTERN } from '../../records/record-fields.js';
import { assertTenantId } from '../../tenants/tenant-id.js';

const idSchema = z.string().min(1).max(200);
const instant = z.union([z.date(), z.iso.datetime().transform((value) => new Date(value))]);

/** What a legal hold keeps: a contact (and the calls and chats that refer to it), a chat, a number, or a date range. */
export const legalHoldSubjectSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('contact'), contactId: idSchema }),
  z.strictObject({ kind: z.literal('chat'), chatId: idSchema }),
  z.strictObject({ kind: z.literal('number'), e164: z.string().regex(E164_PATTERN, 'an E.164 number such as +14155550100') }),
  z
    .strictObject({ kind: z.literal('range'), from: instant, to: instant })
    .refine((range) => range.to.getTime() > range.from.getTime(), { message: 'must end after it starts', path: ['to'] }),
]);

/** The subject of a legal hold. A `range` holds every record whose time (`startedAt`, a contact's `createdAt`) lies in `[from, to)`. */
export type LegalHoldSubject = z.output<typeof legalHoldSubjectSchema>;

/** A legal hold: while it is active, archive retention never purges the records it covers. */
export interface LegalHold {
  id: string;
  tenantId: string;
  subject: LegalHoldSubject;
  reason: string;
  /** Who placed it (a user id, or `cli`). */
  placedBy: string;
  placedAt: Date;
  releasedBy: string | null;
  releasedAt: Date | null;
}

interface LegalHoldDocument extends Omit<LegalHold, 'id'> {
  _id: string;
}

const toHold = ({ _id, ...rest }: LegalHoldDocument): LegalHold => ({ id: _id, ...rest });

const placeSchema = z.strictObject({
  subject: legalHoldSubjectSchema,
  reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(1000),
  placedBy: z.string().min(1).max(200),
});

/**
 * The control plane's `legalHolds` collection. Holds are never deleted: releasing one stamps who released it and
 * when, so the record of why data was kept survives.
 *
 * @example
 * await holds.place('acme', { subject: { kind: 'contact', contactId: 'c-42' }, reason: 'case 2026-113', placedBy: 'u-1' });
 */
export class LegalHoldsStore {
  private readonly holds: Collection<LegalHoldDocument>;

  constructor(db: Db) {
    this.holds = db.collection<LegalHoldDocument>('legalHolds');
  }

  async ensureIndexes(): Promise<void> {
    await this.holds.createIndex({ tenantId: 1, releasedAt: 1, placedAt: 1 }, { name: 'tenant_active' });
  }

  /** Places a hold; `ERR_LEGAL_HOLD_INVALID` names the bad field. */
  async place(tenantId: string, input: unknown, now = new Date()): Promise<LegalHold> {
    const tenant = assertTenantId(tenantId);
    const parsed = placeSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RetentionError(
        'ERR_LEGAL_HOLD_INVALID',
        `legal hold field "${issue?.path.join('.') || '(hold)'}" is invalid: ${issue?.message ?? 'unknown problem'}`,
      );
    }
    const doc: LegalHoldDocument = { _id: randomUUID(), tenantId: tenant, ...parsed.data, placedAt: now, releasedBy: null, releasedAt: null };
    await this.holds.insertOne(doc);
    return toHold(doc);
  }

  /** Releases an active hold; `ERR_LEGAL_HOLD_NOT_FOUND` when the tenant has no such active hold. */
  async release(tenantId: string, holdId: string, releasedBy: string, now = new Date()): Promise<void> {
    const result = await this.holds.updateOne({ _id: holdId, tenantId: assertTenantId(tenantId), releasedAt: null }, { $set: { releasedAt: now, releasedBy } });
    if (result.matchedCount === 0) throw new RetentionError('ERR_LEGAL_HOLD_NOT_FOUND', `tenant "${tenantId}" has no active legal hold ${holdId}`);
  }

  /** Active holds of a tenant, oldest first. */
  async listActive(tenantId: string): Promise<LegalHold[]> {
    return (
      await this.holds
        .find({ tenantId: assertTenantId(tenantId), releasedAt: null })
        .sort({ placedAt: 1 })
        .toArray()
    ).map(toHold);
  }
}
