import type { Collection, Db } from 'mongodb';
import { RetentionError } from '../errors.js';
import { normalizeEmail } from '../store/users-store.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { generateActivationToken, hashActivationToken, isWellFormedActivationToken, verifyActivationToken } from './activation-tokens.js';

/** What a token lets its holder do. */
export type ActivationPurpose = 'owner-activation' | 'invitation' | 'password-reset' | 'email-verification';

const PURPOSES: readonly ActivationPurpose[] = ['owner-activation', 'invitation', 'password-reset', 'email-verification'];

/** A stored token, without anything that would let someone use it. */
export interface ActivationTokenRecord {
  /** The token's hash: identifies it for listing and revoking, useless as a link. */
  id: string;
  tenantId: string;
  purpose: ActivationPurpose;
  /** Whom it is for: a user id or an email address, as the caller decides. */
  subject: string;
  /** The address an `email-verification` token confirms (normalized); undefined for the other purposes. */
  email: string | undefined;
  /** Who issued it (`cli`, a user id). */
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
}

/** What {@link ActivationTokensStore.issue} needs. */
export interface IssueActivationTokenInput {
  purpose: ActivationPurpose;
  subject: string;
  /** The address an `email-verification` token confirms (required for that purpose, refused for the others). */
  email?: string;
  createdBy: string;
  /** Lifetime in seconds; default 72 hours, at most 30 days. */
  expiresInSeconds?: number;
}

/** A token as stored: the record, keyed by the token's hash. */
type ActivationTokenDocument = Omit<ActivationTokenRecord, 'id' | 'email'> & { _id: string; email?: string };

/** Default lifetime of a token: 72 hours. */
export const DEFAULT_ACTIVATION_TOKEN_LIFETIME_SECONDS = 72 * 3600;
const MAX_LIFETIME_SECONDS = 30 * 86_400;

const toRecord = (doc: ActivationTokenDocument): ActivationTokenRecord => ({
  id: doc._id,
  tenantId: doc.tenantId,
  purpose: doc.purpose,
  subject: doc.subject,
  email: doc.email,
  createdBy: doc.createdBy,
  createdAt: doc.createdAt,
  expiresAt: doc.expiresAt,
});

const invalidLink = (): RetentionError =>
  new RetentionError('ERR_ACTIVATION_TOKEN_INVALID', 'this link is not valid or has already been used: ask for a new one');

const expiredLink = (): RetentionError => new RetentionError('ERR_ACTIVATION_TOKEN_EXPIRED', 'this link has expired: ask for a new one');

/** Why a link's token cannot be used, as the pages behind links say it: unknown or used (`invalid`), or `expired`. */
export type LinkTokenProblem = 'invalid' | 'expired';

/**
 * The {@link LinkTokenProblem} of an error from {@link ActivationTokensStore.inspect} or `consume`, or undefined for any
 * other error (which the caller rethrows).
 *
 * @example
 * const problem = linkTokenProblem(err);
 * if (problem === undefined) throw err;
 */
export function linkTokenProblem(err: unknown): LinkTokenProblem | undefined {
  if (!(err instanceof RetentionError)) return undefined;
  if (err.code === 'ERR_ACTIVATION_TOKEN_EXPIRED') return 'expired';
  return err.code === 'ERR_ACTIVATION_TOKEN_INVALID' ? 'invalid' : undefined;
}

function checkPurpose(purpose: unknown): ActivationPurpose {
  if (PURPOSES.includes(purpose as ActivationPurpose)) return purpose as ActivationPurpose;
  throw new RetentionError('ERR_ACTIVATION_PURPOSE_INVALID', `activation purpose ${JSON.stringify(purpose)} is not one of ${PURPOSES.join(', ')}`);
}

/**
 * The `activationTokens` collection: one-time, expiring tokens for owner activation, invitations, password
 * resets and email confirmations. Only SHA-256 hashes are stored (the hash is the `_id`); the token itself exists only in the link.
 * A TTL index removes expired tokens (MongoDB's TTL monitor runs about once a minute, so expiry is also checked
 * on every read). Every method is scoped to one tenant.
 *
 * @example
 * const tokens = new ActivationTokensStore(db);
 * const { token } = await tokens.issue('acme', { purpose: 'owner-activation', subject: ownerId, createdBy: 'cli' });
 * // later, when the form is submitted:
 * const record = await tokens.consume('acme', token, 'owner-activation');
 */
export class ActivationTokensStore {
  private readonly tokens: Collection<ActivationTokenDocument>;

  constructor(db: Db) {
    this.tokens = db.collection<ActivationTokenDocument>('activationTokens');
  }

  async ensureIndexes(): Promise<void> {
    await this.tokens.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expires_ttl' });
    await this.tokens.createIndex({ tenantId: 1, purpose: 1, subject: 1 }, { name: 'tenant_purpose_subject' });
  }

  /** Issues a token and returns it (put it in the link; it cannot be read back) with its record. */
  async issue(tenantId: string, input: IssueActivationTokenInput, now = new Date()): Promise<{ token: string; record: ActivationTokenRecord }> {
    const lifetime = input.expiresInSeconds ?? DEFAULT_ACTIVATION_TOKEN_LIFETIME_SECONDS;
    if (!Number.isInteger(lifetime) || lifetime < 60 || lifetime > MAX_LIFETIME_SECONDS) {
      throw new RetentionError('ERR_ACTIVATION_LIFETIME_INVALID', `an activation link lives 60 seconds to 30 days, not ${lifetime} seconds`);
    }
    if (typeof input.subject !== 'string' || input.subject.length < 1 || input.subject.length > 320) {
      throw new RetentionError('ERR_ACTIVATION_SUBJECT_INVALID', 'an activation token needs a subject (user id or email) of 1 to 320 characters');
    }
    const purpose = checkPurpose(input.purpose);
    if ((purpose === 'email-verification') !== (input.email !== undefined)) {
      throw new RetentionError('ERR_ACTIVATION_SUBJECT_INVALID', 'an email address goes with an email-verification token, and only with one');
    }
    const { token, tokenHash } = generateActivationToken();
    const doc: ActivationTokenDocument = {
      _id: tokenHash,
      tenantId: assertTenantId(tenantId),
      purpose,
      subject: input.subject,
      ...(input.email !== undefined ? { email: normalizeEmail(input.email) } : {}),
      createdBy: String(input.createdBy),
      createdAt: now,
      expiresAt: new Date(now.getTime() + lifetime * 1000),
    };
    await this.tokens.insertOne(doc);
    return { token, record: toRecord(doc) };
  }

  /**
   * Reads the token's record without using it up (for the page that shows the form behind a link: link
   * previewers and scanners fetch links too). Throws `ERR_ACTIVATION_TOKEN_INVALID` (malformed, unknown, used,
   * another tenant or purpose) or `ERR_ACTIVATION_TOKEN_EXPIRED`.
   */
  async inspect(tenantId: string, token: string, purpose: ActivationPurpose, now = new Date()): Promise<ActivationTokenRecord> {
    if (!isWellFormedActivationToken(token)) throw invalidLink();
    const doc = await this.tokens.findOne({ _id: hashActivationToken(token), tenantId: assertTenantId(tenantId), purpose: checkPurpose(purpose) });
    return this.accept(doc, token, now);
  }

  /**
   * Uses the token up: finds and deletes it in one atomic operation, so of two concurrent requests with the same
   * link exactly one succeeds. Throws like {@link inspect}; an expired token is deleted too.
   */
  async consume(tenantId: string, token: string, purpose: ActivationPurpose, now = new Date()): Promise<ActivationTokenRecord> {
    if (!isWellFormedActivationToken(token)) throw invalidLink();
    const doc = await this.tokens.findOneAndDelete({ _id: hashActivationToken(token), tenantId: assertTenantId(tenantId), purpose: checkPurpose(purpose) });
    return this.accept(doc, token, now);
  }

  /** Tokens not yet used nor expired, newest first (e.g. pending invitations). */
  async listPending(tenantId: string, purpose: ActivationPurpose, now = new Date()): Promise<ActivationTokenRecord[]> {
    const docs = await this.tokens
      .find({ tenantId: assertTenantId(tenantId), purpose: checkPurpose(purpose), expiresAt: { $gt: now } })
      .sort({ createdAt: -1 })
      .limit(1000)
      .toArray();
    return docs.map(toRecord);
  }

  /** Revokes every token of a subject for a purpose (e.g. before inviting the same person again). Returns how many. */
  async revokeForSubject(tenantId: string, purpose: ActivationPurpose, subject: string): Promise<number> {
    const result = await this.tokens.deleteMany({ tenantId: assertTenantId(tenantId), purpose: checkPurpose(purpose), subject: String(subject) });
    return result.deletedCount;
  }

  /** Revokes one token by its record id. True when it existed. */
  async revoke(tenantId: string, id: string): Promise<boolean> {
    const result = await this.tokens.deleteOne({ _id: String(id), tenantId: assertTenantId(tenantId) });
    return result.deletedCount === 1;
  }

  private accept(doc: ActivationTokenDocument | null, token: string, now: Date): ActivationTokenRecord {
    if (doc === null || !verifyActivationToken(token, doc._id)) throw invalidLink();
    if (doc.expiresAt.getTime() <= now.getTime()) throw expiredLink();
    return toRecord(doc);
  }
}
