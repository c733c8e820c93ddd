import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { forbiddenError, notFoundError } from '../access/access-errors.js';
import { assertCan, can, canRead } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import type { AuditEvent } from '../audit/audit-entry.js';
import type { AuditLog } from '../audit/audit-log.js';
import { RetentionError } from '../errors.js';
import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import { parseArchiveInput } from '../store/archive/archive-filters.js';
import { callLogFilterSchema } from '../store/archive/call-log-queries.js';
import { chatFilterSchema } from '../store/archive/chat-queries.js';
import { contactFilterSchema } from '../store/archive/contact-queries.js';
import { isWellFormedDownloadToken, issueDownloadToken, verifyDownloadToken } from './download-tokens.js';
import type { ResultExport, ResultExportsStore } from './result-exports-store.js';
import { resolveResultsExportOptions, type ResolvedResultsExportOptions, type ResultsExportOptions } from './results-export-options.js';
import { RESULTS_EXPORT_JOB_OPTIONS, resultsExportJobId, type ResultsExportJobData } from './results-export-queue.js';
import { maskFilterValues } from '../masking/mask-filter-values.js';

/** Whether an export of chats carries their transcripts: `include` (the default for chats) or `omit`. */
export const EXPORT_MESSAGES_CHOICES = ['include', 'omit'] as const;

/**
 * What a user asks for: the type, the format, the list's current filter (as the list page has it) and, for chats
 * only, whether the chats' messages are included (default `include`).
 */
export const exportRequestSchema = z
  .strictObject({
    type: z.enum(RECORD_TYPES),
    format: z.enum(['json', 'csv']),
    filter: z.record(z.string(), z.unknown()).default({}),
    messages: z.enum(EXPORT_MESSAGES_CHOICES).optional(),
  })
  .refine((request) => request.messages === undefined || request.type === 'chats', {
    path: ['messages'],
    message: 'can only be chosen for an export of chats',
  });

/** An export request as the portal gives it. */
export type ExportRequest = z.input<typeof exportRequestSchema>;

const FILTER_SCHEMAS: Record<RecordType, z.ZodType> = { 'call-logs': callLogFilterSchema, chats: chatFilterSchema, contacts: contactFilterSchema };

/** Client facts for the audit log (`auditClient(req)` in the portal). */
export type AuditClient = Pick<AuditEvent, 'ip' | 'userAgent'>;

/** A fresh download link: put `path` in the page; the token cannot be read back. */
export interface DownloadLink {
  token: string;
  /** `/exports/<id>/download/<token>` (route `exports.download`). */
  path: string;
  expiresAt: Date;
}

/** An opened download: send `stream` with these headers. */
export interface ExportDownload {
  fileName: string;
  contentType: string;
  bytes: number;
  sha256: string;
  stream: Readable;
}

/** What {@link ResultsExportService} needs. */
export interface ResultsExportServiceDeps {
  exports: ResultExportsStore;
  queue: Pick<Queue<ResultsExportJobData>, 'add'>;
  audit: Pick<AuditLog, 'append'>;
  options?: ResultsExportOptions;
  now?: () => Date;
}

const JSON_SAFE = (value: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

/**
 * Exports of the current filter's results, for the portal: ask for one (a tracked BullMQ job), follow it, get a
 * download link and download. Only for principals with the `export` capability and only for record types in their
 * data scope; personal data is masked unless they hold `see-unmasked-personal-data` (decided when asking).
 * Each user sees only their own exports; another user's or tenant's export id is `ERR_NOT_FOUND`.
 *
 * Download links are one-time **and** time-limited (default 15 minutes): 256-bit tokens, only their SHA-256 stored,
 * compared in constant time, bound to the export and the user; a new link replaces the previous one.
 * Audited: `export.requested` (success or denied) and `export.downloaded` (success, denied, or failure for an
 * invalid, expired or used link).
 *
 * @example
 * const job = await service.request(principal, { type: 'call-logs', format: 'csv', filter: { outcome: 'missed' } }, auditClient(req));
 * const { path } = await service.createDownloadLink(principal, job.id); // once job.status === 'done'
 * const download = await service.openDownload(principal, job.id, req.params.token, auditClient(req));
 */
export class ResultsExportService {
  private readonly options: ResolvedResultsExportOptions;
  private readonly now: () => Date;

  constructor(private readonly deps: ResultsExportServiceDeps) {
    this.options = resolveResultsExportOptions(deps.options);
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Validates the request, stores the export and queues its job. An export of chats carries their messages unless
   * the request says `messages: 'omit'`. `ERR_FORBIDDEN` (403) without `export` or for a
   * type outside the data scope (both audited as denied); `ERR_EXPORT_REQUEST_INVALID` or
   * `ERR_ARCHIVE_FILTER_INVALID` (400) for a bad request.
   */
  async request(principal: Principal, input: unknown, client: AuditClient = {}): Promise<ResultExport> {
    const parsed = exportRequestSchema.safeParse(input);
    const type = parsed.success ? parsed.data.type : undefined;
    if (!can(principal, 'export') || (type !== undefined && !canRead(principal, type))) {
      await this.audit(principal, 'export.requested', 'denied', client, type ?? 'unknown', { type: type ?? null });
      if (!can(principal, 'export')) throw forbiddenError('export');
      throw forbiddenError({ scope: type });
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RetentionError(
        'ERR_EXPORT_REQUEST_INVALID',
        `export request field "${issue?.path.map(String).join('.') ?? ''}" ${issue?.message ?? 'is invalid'}: give a type (${RECORD_TYPES.join(', ')}), a format (json or csv), the list's filter and, for chats, messages (include or omit)`,
      );
    }
    const { format, filter } = parsed.data;
    const validType = parsed.data.type;
    parseArchiveInput(FILTER_SCHEMAS[validType], filter, 'filter');
    const createdAt = this.now();
    const job = await this.deps.exports.create({
      id: randomBytes(12).toString('hex'),
      tenantId: principal.tenantId,
      userId: principal.userId,
      type: validType,
      format,
      filter: JSON_SAFE(filter),
      masked: !can(principal, 'see-unmasked-personal-data'),
      withMessages: validType === 'chats' && parsed.data.messages !== 'omit',
      limits: { maxRecords: this.options.maxRecords, maxBytes: this.options.maxBytes },
      createdAt,
      expiresAt: new Date(createdAt.getTime() + this.options.keepSeconds * 1000),
    });
    await this.deps.queue.add('export', { tenantId: job.tenantId, exportId: job.id }, { ...RESULTS_EXPORT_JOB_OPTIONS, jobId: resultsExportJobId(job.id) });
    await this.audit(principal, 'export.requested', 'success', client, `export:${job.id}`, {
      type: job.type,
      format: job.format,
      masked: job.masked,
      ...(job.type === 'chats' ? { withMessages: job.withMessages } : {}),
      filter: JSON.stringify(maskFilterValues(job.filter)).slice(0, 500),
    });
    return job;
  }

  /** One of the principal's own exports (status, progress, file); `ERR_NOT_FOUND` otherwise. */
  async get(principal: Principal, exportId: string): Promise<ResultExport> {
    assertCan(principal, 'export');
    const job =
      typeof exportId === 'string' && /^[0-9a-f]{24}$/.test(exportId) ? await this.deps.exports.get(principal.tenantId, exportId, this.now()) : undefined;
    if (!job || job.userId !== principal.userId) throw notFoundError('export');
    return job;
  }

  /** The principal's recent exports, newest first. */
  async list(principal: Principal): Promise<ResultExport[]> {
    assertCan(principal, 'export');
    return this.deps.exports.listForUser(principal.tenantId, principal.userId, this.now());
  }

  /**
   * A new one-time download link for a finished export (the previous one stops working). `ERR_EXPORT_NOT_READY`
   * (409) while it runs or after it failed.
   */
  async createDownloadLink(principal: Principal, exportId: string): Promise<DownloadLink> {
    const job = await this.get(principal, exportId);
    this.assertStillAllowed(principal, job);
    if (job.status !== 'done') {
      throw new RetentionError(
        'ERR_EXPORT_NOT_READY',
        job.status === 'failed'
          ? `this export failed (${job.error?.message ?? 'no reason recorded'}): ask for a new one`
          : 'this export is still running: wait until it is done',
      );
    }
    const now = this.now();
    const { token, tokenHash } = issueDownloadToken();
    const expiresAt = new Date(Math.min(now.getTime() + this.options.linkLifetimeSeconds * 1000, job.expiresAt.getTime()));
    await this.deps.exports.setLink(principal.tenantId, job.id, tokenHash, expiresAt, now);
    return { token, path: `/exports/${job.id}/download/${token}`, expiresAt };
  }

  /**
   * Uses a download link up and opens the file. `ERR_EXPORT_LINK_INVALID` (404) for a malformed, unknown or
   * replaced token, another user's export, or a used link; `ERR_EXPORT_LINK_EXPIRED` (410) after its lifetime;
   * `ERR_FORBIDDEN` when the principal lost the capability or scope meanwhile.
   */
  async openDownload(principal: Principal, exportId: string, token: string, client: AuditClient = {}): Promise<ExportDownload> {
    const target = `export:${String(exportId).slice(0, 40)}`;
    if (!can(principal, 'export')) {
      await this.audit(principal, 'export.downloaded', 'denied', client, target, {});
      throw forbiddenError('export');
    }
    const refuse = async (reason: 'invalid' | 'expired' | 'used'): Promise<never> => {
      await this.audit(principal, 'export.downloaded', 'failure', client, target, { reason });
      if (reason === 'expired') throw new RetentionError('ERR_EXPORT_LINK_EXPIRED', 'this download link has expired: open the export again for a new link');
      throw new RetentionError('ERR_EXPORT_LINK_INVALID', 'this download link is not valid or was already used: open the export again for a new link');
    };
    if (typeof exportId !== 'string' || !/^[0-9a-f]{24}$/.test(exportId) || !isWellFormedDownloadToken(token)) return refuse('invalid');
    const current = await this.deps.exports.get(principal.tenantId, exportId, this.now());
    if (current && current.userId === principal.userId) {
      try {
        this.assertStillAllowed(principal, current);
      } catch (err) {
        await this.audit(principal, 'export.downloaded', 'denied', client, target, { type: current.type });
        throw err;
      }
    }
    const use = await this.deps.exports.useLink(
      principal.tenantId,
      exportId,
      principal.userId,
      (storedHash) => verifyDownloadToken(token, storedHash),
      this.now(),
    );
    if (!use.ok) return refuse(use.reason);
    const file = use.export.file;
    if (!file) return refuse('invalid');
    await this.audit(principal, 'export.downloaded', 'success', client, target, {
      type: use.export.type,
      format: use.export.format,
      records: file.records,
      ...(file.messages !== undefined ? { messages: file.messages } : {}),
      bytes: file.bytes,
      masked: use.export.masked,
    });
    return {
      fileName: file.name,
      contentType: file.contentType,
      bytes: file.bytes,
      sha256: file.sha256,
      stream: this.deps.exports.openFile(principal.tenantId, use.export.id),
    };
  }

  /** The principal must still hold the type and, for an unmasked file, the right to see unmasked data. */
  private assertStillAllowed(principal: Principal, job: ResultExport): void {
    if (!canRead(principal, job.type)) throw forbiddenError({ scope: job.type });
    if (!job.masked && !can(principal, 'see-unmasked-personal-data')) throw forbiddenError('see-unmasked-personal-data');
  }

  private async audit(
    principal: Principal,
    action: string,
    outcome: AuditEvent['outcome'],
    client: AuditClient,
    target: string,
    details: NonNullable<AuditEvent['details']>,
  ): Promise<void> {
    await this.deps.audit.append(
      principal.tenantId,
      { actor: { type: 'user', id: principal.userId }, action, outcome, target, ...client, details },
      this.now(),
    );
  }
}
