import { randomBytes } from 'node:crypto';
import type { Collection, Db, Document } from 'mongodb';
import { CAPABILITIES, type Capability } from '../access/capabilities.js';
import { RetentionError } from '../errors.js';
import { RECORD_TYPES, type RecordType } from '../records/record-type.js';
import { parseTimeZone } from '../time/time-zones.js';
import { assertTenantId } from '../tenants/tenant-id.js';
import { isDuplicateKeyError } from './duplicate-key.js';

/** The owner has every capability; administrators have the ones they were given. */
export type UserRole = 'owner' | 'administrator';

/** What an administrator may do besides browsing the data types they were given. */
export const USER_CAPABILITIES = CAPABILITIES;
export type UserCapability = Capability;

/** `invited`: the invitation link has not been used yet (no password). */
export type UserStatus = 'invited' | 'active' | 'disabled';

/** A portal user's second factor: the TOTP secret sealed under the master key and the last time step accepted. */
export interface UserTotp {
  sealedSecret: string;
  enabledAt: Date;
  /** Refuses replay: a code of this step or an earlier one is not accepted again (ASVS 2.8.4). */
  lastUsedStep: number;
}

/** A portal user (an administrator of one tenant). */
export interface User {
  id: string;
  tenantId: string;
  /** Lower-cased, trimmed. Unique per tenant. */
  email: string;
  /**
   * When the user proved they receive mail at `email` (followed an invitation or a confirmation link sent there);
   * undefined while it is unconfirmed. A change of address takes effect only by following a link sent to the new one.
   */
  emailVerifiedAt: Date | undefined;
  displayName: string;
  role: UserRole;
  capabilities: UserCapability[];
  dataTypes: RecordType[];
  status: UserStatus;
  /** Argon2id PHC string; undefined while invited. */
  passwordHash: string | undefined;
  /** Recent password hashes, newest first; empty unless the tenant turned history on. */
  passwordHistory: string[];
  passwordChangedAt: Date | undefined;
  totp: UserTotp | undefined;
  /** A secret shown during enrolment, not yet confirmed by a code. */
  pendingTotpSecret: string | undefined;
  /** Argon2id hashes of the unused backup codes. */
  backupCodeHashes: string[];
  /** SHA-256 keys of the places (network and browser) the user signed in from lately, newest last (`signInPlace`). */
  knownSignInPlaces: string[];
  invitedBy: string | undefined;
  /** The time zone the user chose for the portal's times; undefined: the tenant's. */
  timeZone: string | undefined;
  createdAt: Date;
  updatedAt: Date;
}

/** What {@link UsersStore.create} needs. */
export interface CreateUserInput {
  email: string;
  displayName: string;
  role: UserRole;
  capabilities?: readonly UserCapability[];
  dataTypes?: readonly RecordType[];
  /** Set for an owner who chooses the password at activation; absent for an invited user. */
  passwordHash?: string;
  invitedBy?: string;
}

/** A user as stored: keyed by id, with the fields a user may not have left out rather than undefined. */
type UserDocument = Pick<
  User,
  'tenantId' | 'email' | 'displayName' | 'role' | 'capabilities' | 'dataTypes' | 'status' | 'passwordHistory' | 'backupCodeHashes' | 'createdAt' | 'updatedAt'
> & {
  _id: string;
  passwordHash?: string;
  passwordChangedAt?: Date;
  emailVerifiedAt?: Date;
  knownSignInPlaces?: string[];
  totp?: UserTotp | null;
  pendingTotpSecret?: string | null;
  invitedBy?: string;
  timeZone?: string;
};

const EMAIL_PATTERN = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}\.[^\s@<>()[\]\\,;:".]{2,63}$/;

/**
 * The canonical form of an email address (trimmed, lower case), or `ERR_USER_EMAIL_INVALID`.
 *
 * @example
 * normalizeEmail(' Jo@Acme.Example ') // 'jo@acme.example'
 */
export function normalizeEmail(email: unknown): string {
  const value = typeof email === 'string' ? email.trim().toLowerCase() : '';
  if (value.length > 254 || !EMAIL_PATTERN.test(value)) {
    throw new RetentionError('ERR_USER_EMAIL_INVALID', 'enter an email address such as jo@example.com');
  }
  return value;
}

function checkDisplayName(name: unknown): string {
  const value = typeof name === 'string' ? name.trim() : '';
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (value.length < 1 || value.length > 100 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new RetentionError('ERR_USER_NAME_INVALID', 'enter a name of 1 to 100 characters');
  }
  return value;
}

const toUser = (doc: UserDocument): User => ({
  id: doc._id,
  tenantId: doc.tenantId,
  email: doc.email,
  emailVerifiedAt: doc.emailVerifiedAt,
  displayName: doc.displayName,
  role: doc.role,
  capabilities: [...doc.capabilities],
  dataTypes: [...doc.dataTypes],
  status: doc.status,
  passwordHash: doc.passwordHash,
  passwordHistory: [...(doc.passwordHistory ?? [])],
  passwordChangedAt: doc.passwordChangedAt,
  totp: doc.totp ?? undefined,
  pendingTotpSecret: doc.pendingTotpSecret ?? undefined,
  backupCodeHashes: [...(doc.backupCodeHashes ?? [])],
  knownSignInPlaces: [...(doc.knownSignInPlaces ?? [])],
  invitedBy: doc.invitedBy,
  timeZone: doc.timeZone,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

/**
 * The `users` collection of the control plane: portal users, one tenant at a time (every method takes the tenant
 * and filters on it, so no id from a request reaches another tenant's users). Email addresses are unique per
 * tenant and a tenant has at most one owner (both enforced by unique indexes).
 *
 * @example
 * const users = new UsersStore(db);
 * const user = await users.findByEmail('acme', 'jo@acme.example');
 */
export class UsersStore {
  private readonly users: Collection<UserDocument>;

  constructor(db: Db) {
    this.users = db.collection<UserDocument>('users');
  }

  async ensureIndexes(): Promise<void> {
    await this.users.createIndex({ tenantId: 1, email: 1 }, { unique: true, name: 'tenant_email' });
    await this.users.createIndex({ tenantId: 1, role: 1 }, { unique: true, name: 'tenant_owner', partialFilterExpression: { role: 'owner' } });
  }

  /** Creates a user; `ERR_USER_EXISTS` when the email (or, for an owner, the owner role) is taken in the tenant. */
  async create(tenantId: string, input: CreateUserInput, now = new Date()): Promise<User> {
    const doc: UserDocument = {
      _id: randomBytes(12).toString('hex'),
      tenantId: assertTenantId(tenantId),
      email: normalizeEmail(input.email),
      displayName: checkDisplayName(input.displayName),
      role: input.role,
      capabilities: input.role === 'owner' ? [...USER_CAPABILITIES] : [...new Set(input.capabilities ?? [])].filter((c) => USER_CAPABILITIES.includes(c)),
      dataTypes: input.role === 'owner' ? [...RECORD_TYPES] : [...new Set(input.dataTypes ?? RECORD_TYPES)].filter((t) => RECORD_TYPES.includes(t)),
      status: input.passwordHash === undefined ? 'invited' : 'active',
      ...(input.passwordHash !== undefined ? { passwordHash: input.passwordHash, passwordChangedAt: now } : {}),
      passwordHistory: [],
      totp: null,
      pendingTotpSecret: null,
      backupCodeHashes: [],
      ...(input.invitedBy !== undefined ? { invitedBy: input.invitedBy } : {}),
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.users.insertOne(doc);
    } catch (err) {
      if (isDuplicateKeyError(err)) {
        throw new RetentionError(
          'ERR_USER_EXISTS',
          input.role === 'owner' ? 'this tenant already has an owner' : `${doc.email} already has an account or an invitation in this tenant`,
        );
      }
      throw err;
    }
    return toUser(doc);
  }

  /** The user of a stored document, read in another query (see `RequestContextStore`). */
  fromDocument(doc: Document): User {
    return toUser(doc as UserDocument);
  }

  /** Whether `id` has the shape of a user id (others are never looked up). */
  static isUserId(id: unknown): id is string {
    return typeof id === 'string' && /^[a-f0-9]{24}$/.test(id);
  }

  async findById(tenantId: string, id: string): Promise<User | undefined> {
    if (!UsersStore.isUserId(id)) return undefined;
    const doc = await this.users.findOne({ _id: id, tenantId: assertTenantId(tenantId) });
    return doc ? toUser(doc) : undefined;
  }

  async findByEmail(tenantId: string, email: string): Promise<User | undefined> {
    let normalized: string;
    try {
      normalized = normalizeEmail(email);
    } catch {
      return undefined;
    }
    const doc = await this.users.findOne({ tenantId: assertTenantId(tenantId), email: normalized });
    return doc ? toUser(doc) : undefined;
  }

  async findOwner(tenantId: string): Promise<User | undefined> {
    const doc = await this.users.findOne({ tenantId: assertTenantId(tenantId), role: 'owner' });
    return doc ? toUser(doc) : undefined;
  }

  /** The tenant's users, by email (at most 1000). */
  async list(tenantId: string): Promise<User[]> {
    const docs = await this.users
      .find({ tenantId: assertTenantId(tenantId) })
      .sort({ email: 1 })
      .limit(1000)
      .toArray();
    return docs.map(toUser);
  }

  /** An invited user sets a password and becomes active. False when the user is not (or no longer) invited. */
  /** Activates an invited user with their password; following the invitation link sent to the address confirms it. */
  async activateInvited(tenantId: string, id: string, passwordHash: string, now = new Date()): Promise<boolean> {
    const result = await this.users.updateOne(
      { _id: id, tenantId: assertTenantId(tenantId), status: 'invited' },
      { $set: { status: 'active', passwordHash, passwordChangedAt: now, emailVerifiedAt: now, updatedAt: now } },
    );
    return result.modifiedCount === 1;
  }

  /**
   * Activates an invited user who signed in through the tenant's identity provider with the invited address (verified
   * by the provider): no password, the address confirmed. False when the user is no longer invited.
   */
  async activateInvitedThroughSso(tenantId: string, id: string, now = new Date()): Promise<boolean> {
    const result = await this.users.updateOne(
      { _id: id, tenantId: assertTenantId(tenantId), status: 'invited' },
      { $set: { status: 'active', emailVerifiedAt: now, updatedAt: now } },
    );
    return result.modifiedCount === 1;
  }

  /**
   * Confirms `email` as the user's address: when it is the current one, marks it verified; when it differs, makes it
   * the user's address (verified), but only while the account still has address `from` (a link issued before another
   * change confirms nothing). Returns false when the user is gone, disabled, or no longer has `from`; throws
   * `ERR_USER_EXISTS` when another account of the tenant took the address meanwhile.
   */
  async confirmEmail(tenantId: string, id: string, change: { from: string; to: string }, now = new Date()): Promise<boolean> {
    const from = normalizeEmail(change.from);
    const to = normalizeEmail(change.to);
    try {
      const result = await this.users.updateOne(
        { _id: id, tenantId: assertTenantId(tenantId), email: from, status: { $ne: 'disabled' } },
        { $set: { email: to, emailVerifiedAt: now, updatedAt: now } },
      );
      return result.matchedCount === 1;
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new RetentionError('ERR_USER_EXISTS', `${to} already has an account or an invitation in this tenant`);
      throw err;
    }
  }

  /**
   * Remembers the place of a sign-in (at most `keep`, the oldest forgotten first). Returns `new` when the user signed in
   * from other places before but not from this one, `first` for a user's first remembered sign-in, `known` otherwise.
   */
  async rememberSignInPlace(tenantId: string, id: string, key: string, keep: number): Promise<'new' | 'first' | 'known'> {
    const before = await this.users.findOneAndUpdate(
      { _id: id, tenantId: assertTenantId(tenantId), knownSignInPlaces: { $ne: key } },
      { $push: { knownSignInPlaces: { $each: [key], $slice: -keep } } },
      { returnDocument: 'before' },
    );
    if (before === null) return 'known';
    return (before.knownSignInPlaces ?? []).length === 0 ? 'first' : 'new';
  }

  /** Removes a user who has not accepted the invitation yet. */
  async deleteInvited(tenantId: string, id: string): Promise<boolean> {
    const result = await this.users.deleteOne({ _id: id, tenantId: assertTenantId(tenantId), status: 'invited' });
    return result.deletedCount === 1;
  }

  async setPassword(tenantId: string, id: string, passwordHash: string, passwordHistory: readonly string[], now = new Date()): Promise<void> {
    await this.users.updateOne(
      { _id: id, tenantId: assertTenantId(tenantId) },
      { $set: { passwordHash, passwordHistory: [...passwordHistory], passwordChangedAt: now, updatedAt: now } },
    );
  }

  /** Sets the user's time zone for the portal's times (`parseTimeZone` checked it), or back to the tenant's. */
  async setTimeZone(tenantId: string, id: string, timeZone: string | undefined, now = new Date()): Promise<void> {
    const update =
      timeZone === undefined
        ? { $unset: { timeZone: '' as const }, $set: { updatedAt: now } }
        : { $set: { timeZone: parseTimeZone(timeZone), updatedAt: now } };
    await this.users.updateOne({ _id: id, tenantId: assertTenantId(tenantId) }, update);
  }

  /** Replaces the hash with a fresh one of the same password (parameters raised), keeping the change date. */
  async rehashPassword(tenantId: string, id: string, passwordHash: string): Promise<void> {
    await this.users.updateOne({ _id: id, tenantId: assertTenantId(tenantId) }, { $set: { passwordHash } });
  }

  /** Keeps a sealed secret shown during enrolment until a code confirms it. */
  async setPendingTotpSecret(tenantId: string, id: string, sealedSecret: string, now = new Date()): Promise<void> {
    await this.users.updateOne({ _id: id, tenantId: assertTenantId(tenantId) }, { $set: { pendingTotpSecret: sealedSecret, updatedAt: now } });
  }

  /**
   * Turns TOTP on with the pending secret confirmed by a code of `step`, and stores the backup codes' hashes.
   * False when the pending secret changed meanwhile (enrolment started again in another tab) or 2FA is already on.
   */
  async enableTotp(tenantId: string, id: string, sealedSecret: string, step: number, backupCodeHashes: readonly string[], now = new Date()): Promise<boolean> {
    const result = await this.users.updateOne(
      { _id: id, tenantId: assertTenantId(tenantId), pendingTotpSecret: sealedSecret, totp: null },
      {
        $set: {
          totp: { sealedSecret, enabledAt: now, lastUsedStep: step },
          pendingTotpSecret: null,
          backupCodeHashes: [...backupCodeHashes],
          updatedAt: now,
        },
      },
    );
    return result.modifiedCount === 1;
  }

  /**
   * Records that a TOTP code of `step` was accepted, only if `step` is later than the last one: of two requests with
   * the same code, exactly one gets true (ASVS 2.8.4). False means a replay.
   */
  async recordTotpStep(tenantId: string, id: string, step: number): Promise<boolean> {
    const result = await this.users.updateOne(
      { _id: id, tenantId: assertTenantId(tenantId), 'totp.lastUsedStep': { $lt: step } },
      { $set: { 'totp.lastUsedStep': step } },
    );
    return result.modifiedCount === 1;
  }

  /** Uses up one backup code atomically: true for exactly one of concurrent requests with the same code. */
  async removeBackupCode(tenantId: string, id: string, hash: string): Promise<boolean> {
    const result = await this.users.updateOne({ _id: id, tenantId: assertTenantId(tenantId), backupCodeHashes: hash }, { $pull: { backupCodeHashes: hash } });
    return result.modifiedCount === 1;
  }

  async setBackupCodes(tenantId: string, id: string, hashes: readonly string[], now = new Date()): Promise<void> {
    await this.users.updateOne({ _id: id, tenantId: assertTenantId(tenantId) }, { $set: { backupCodeHashes: [...hashes], updatedAt: now } });
  }

  /**
   * Replaces an administrator's data types and capabilities (the owner's grants never change: it holds everything).
   * Unknown names are dropped; the caller validates first (`parseAccessGrants`). Returns the updated user, or
   * undefined when there is no such administrator in the tenant.
   *
   * @example
   * await users.updateGrants('acme', id, { dataTypes: ['chats'], capabilities: ['export'] });
   */
  async updateGrants(
    tenantId: string,
    id: string,
    grants: { dataTypes: readonly RecordType[]; capabilities: readonly UserCapability[] },
    now = new Date(),
  ): Promise<User | undefined> {
    const doc = await this.users.findOneAndUpdate(
      { _id: id, tenantId: assertTenantId(tenantId), role: 'administrator' },
      {
        $set: {
          dataTypes: RECORD_TYPES.filter((t) => grants.dataTypes.includes(t)),
          capabilities: USER_CAPABILITIES.filter((c) => grants.capabilities.includes(c)),
          updatedAt: now,
        },
      },
      { returnDocument: 'after' },
    );
    return doc ? toUser(doc) : undefined;
  }

  /**
   * Moves an administrator between `active` and `disabled` (deactivate, reactivate). The owner and invited users
   * are never changed. False when the user is not an administrator in status `from`.
   *
   * @example
   * await users.changeStatus('acme', id, 'active', 'disabled'); // deactivate
   */
  async changeStatus(tenantId: string, id: string, from: 'active' | 'disabled', to: 'active' | 'disabled', now = new Date()): Promise<boolean> {
    const result = await this.users.updateOne(
      { _id: id, tenantId: assertTenantId(tenantId), role: 'administrator', status: from },
      { $set: { status: to, updatedAt: now } },
    );
    return result.modifiedCount === 1;
  }

  /** Turns 2FA off: secret, pending secret and backup codes are removed. */
  async disableTotp(tenantId: string, id: string, now = new Date()): Promise<void> {
    await this.users.updateOne(
      { _id: id, tenantId: assertTenantId(tenantId) },
      { $set: { totp: null, pendingTotpSecret: null, backupCodeHashes: [], updatedAt: now } },
    );
  }
}
