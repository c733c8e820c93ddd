import { parseRecord } from '../records/parse-record.js';
import { instantMs } from '../records/record-fields.js';
import type { RecordType } from '../records/record-type.js';
import type { RejectionIssue } from './rejected-records-writer.js';

/** What a record of one slice must be: of `type`, of `tenantId`, its `updatedAt` in `[from, to)` (ISO-8601 UTC). */
export interface SliceRules {
  type: RecordType;
  tenantId: string;
  from: string;
  to: string;
}

/** Why a record of a slice goes to `rejected/` instead of a record file. */
export interface SliceRejection {
  reason: 'schema' | 'tenant' | 'window';
  issues: RejectionIssue[];
}

/** The outcome of the check {@link sliceRecordChecker} returns: the canonical record with its `updatedAt` in milliseconds, or why not. */
export type SliceRecordVerdict = { ok: true; record: { updatedAt: string }; updatedAtMs: number } | { ok: false; rejection: SliceRejection };

/**
 * The one place that decides whether a raw record of a slice is delivered: valid against the canonical schema of its
 * type (`parseRecord`: unknown top-level fields kept under `attributes`), of the chunk's tenant, and updated inside
 * the chunk's window (`from` included, `to` not). Every other record is rejected with its reason and issues, never
 * dropped: the caller writes it to the slice's `rejected/` file.
 */
export function sliceRecordChecker(rules: SliceRules): (raw: unknown) => SliceRecordVerdict {
  const fromMs = instantMs(rules.from);
  const toMs = instantMs(rules.to);
  const windowMessage = `outside the requested window ${rules.from} to ${rules.to}`;
  return (raw) => {
    const parsed = parseRecord(rules.type, raw);
    if (!parsed.ok) return { ok: false, rejection: { reason: 'schema', issues: parsed.issues } };
    const { record } = parsed;
    if (record.tenantId !== rules.tenantId) {
      return {
        ok: false,
        rejection: { reason: 'tenant', issues: [{ path: 'tenantId', message: `record belongs to "${record.tenantId}", not "${rules.tenantId}"` }] },
      };
    }
    const updatedAtMs = instantMs(record.updatedAt);
    if (!(updatedAtMs >= fromMs && updatedAtMs < toMs)) {
      return { ok: false, rejection: { reason: 'window', issues: [{ path: 'updatedAt', message: windowMessage }] } };
    }
    return { ok: true, record, updatedAtMs };
  };
}
