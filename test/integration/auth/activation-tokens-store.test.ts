import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ActivationTokensStore } from '../../../src/auth/activation-tokens-store.js';
import { hashActivationToken } from '../../../src/auth/activation-tokens.js';
import { RetentionError } from '../../../src/errors.js';

let client: MongoClient;
let db: Db;
let tokens: ActivationTokensStore;

const T0 = new Date('2026-01-01T09:00:00Z');
const later = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUrl'));
  db = client.db(`t_act_${randomUUID().slice(0, 8)}`);
  tokens = new ActivationTokensStore(db);
  await tokens.ensureIndexes();
});

afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RetentionError) return err.code;
    throw err;
  }
  throw new Error('expected a RetentionError');
};

const issue = (tenantId = 'acme', subject = 'user-1', expiresInSeconds?: number) =>
  tokens.issue(tenantId, { purpose: 'invitation', subject, createdBy: 'owner-1', ...(expiresInSeconds ? { expiresInSeconds } : {}) }, T0);

describe('ActivationTokensStore', () => {
  it('stores only the hash, with a TTL index on the expiry', async () => {
    const { token, record } = await issue();
    const raw = await db.collection('activationTokens').findOne({ _id: record.id as never });
    expect(raw?._id).toBe(hashActivationToken(token));
    expect(JSON.stringify(raw)).not.toContain(token);
    expect(record).toMatchObject({ tenantId: 'acme', purpose: 'invitation', subject: 'user-1', createdBy: 'owner-1', expiresAt: later(72 * 3600) });
    const indexes = await db.collection('activationTokens').indexes();
    expect(indexes.find((i) => i.name === 'expires_ttl')).toMatchObject({ key: { expiresAt: 1 }, expireAfterSeconds: 0 });
  });

  it('ASVS 2.6.1 / 5.0 6.5.1: a token is consumed once', async () => {
    const { token } = await issue();
    expect(await tokens.inspect('acme', token, 'invitation', later(60))).toMatchObject({ subject: 'user-1' });
    expect(await tokens.inspect('acme', token, 'invitation', later(60))).toMatchObject({ subject: 'user-1' });
    expect(await tokens.consume('acme', token, 'invitation', later(60))).toMatchObject({ subject: 'user-1' });
    expect(await codeOf(tokens.consume('acme', token, 'invitation', later(61)))).toBe('ERR_ACTIVATION_TOKEN_INVALID');
    expect(await codeOf(tokens.inspect('acme', token, 'invitation', later(61)))).toBe('ERR_ACTIVATION_TOKEN_INVALID');
  });

  it('of concurrent consumers exactly one wins (findOneAndDelete)', async () => {
    const { token } = await issue();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => tokens.consume('acme', token, 'invitation', later(5))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('refuses an expired token and removes it', async () => {
    const { token } = await issue('acme', 'user-2', 3600);
    expect(await codeOf(tokens.inspect('acme', token, 'invitation', later(3600)))).toBe('ERR_ACTIVATION_TOKEN_EXPIRED');
    expect(await codeOf(tokens.consume('acme', token, 'invitation', later(3600)))).toBe('ERR_ACTIVATION_TOKEN_EXPIRED');
    expect(await codeOf(tokens.consume('acme', token, 'invitation', later(10)))).toBe('ERR_ACTIVATION_TOKEN_INVALID');
  });

  it('is scoped to the tenant and the purpose, and does not consume on a mismatch', async () => {
    const { token } = await issue();
    expect(await codeOf(tokens.consume('other-co', token, 'invitation', later(1)))).toBe('ERR_ACTIVATION_TOKEN_INVALID');
    expect(await codeOf(tokens.consume('acme', token, 'password-reset', later(1)))).toBe('ERR_ACTIVATION_TOKEN_INVALID');
    expect(await tokens.consume('acme', token, 'invitation', later(1))).toMatchObject({ tenantId: 'acme' });
  });

  it.each([[''], ['x'], ['a'.repeat(43)], ['a'.repeat(64)], ['{"$ne":null}']])('refuses the token %j', async (token) => {
    expect(await codeOf(tokens.consume('acme', token, 'invitation', later(1)))).toBe('ERR_ACTIVATION_TOKEN_INVALID');
  });

  it('refuses a token given as its stored hash (the hash is not the link)', async () => {
    const { record } = await issue();
    expect(await codeOf(tokens.consume('acme', record.id, 'invitation', later(1)))).toBe('ERR_ACTIVATION_TOKEN_INVALID');
  });

  it('lists pending tokens and revokes them by subject or id', async () => {
    await tokens.issue('list-co', { purpose: 'invitation', subject: 'a@list.example', createdBy: 'o' }, T0);
    const second = await tokens.issue('list-co', { purpose: 'invitation', subject: 'a@list.example', createdBy: 'o' }, later(1));
    const third = await tokens.issue('list-co', { purpose: 'invitation', subject: 'b@list.example', createdBy: 'o' }, later(2));
    await tokens.issue('list-co', { purpose: 'invitation', subject: 'c@list.example', createdBy: 'o', expiresInSeconds: 60 }, T0);
    expect((await tokens.listPending('list-co', 'invitation', later(120))).map((r) => r.subject)).toEqual([
      'b@list.example',
      'a@list.example',
      'a@list.example',
    ]);
    expect(await tokens.revokeForSubject('list-co', 'invitation', 'a@list.example')).toBe(2);
    expect(await codeOf(tokens.consume('list-co', second.token, 'invitation', later(3)))).toBe('ERR_ACTIVATION_TOKEN_INVALID');
    expect(await tokens.revoke('list-co', third.record.id)).toBe(true);
    expect(await tokens.revoke('list-co', third.record.id)).toBe(false);
    expect(await tokens.listPending('list-co', 'invitation', later(120))).toEqual([]);
  });

  it.each([
    ['ERR_ACTIVATION_LIFETIME_INVALID', { purpose: 'invitation', subject: 's', createdBy: 'o', expiresInSeconds: 59 }],
    ['ERR_ACTIVATION_LIFETIME_INVALID', { purpose: 'invitation', subject: 's', createdBy: 'o', expiresInSeconds: 31 * 86_400 }],
    ['ERR_ACTIVATION_SUBJECT_INVALID', { purpose: 'invitation', subject: '', createdBy: 'o' }],
    ['ERR_ACTIVATION_PURPOSE_INVALID', { purpose: 'admin', subject: 's', createdBy: 'o' }],
  ])('refuses to issue with %s', async (code, input) => {
    expect(await codeOf(tokens.issue('acme', input as never, T0))).toBe(code);
  });

  it('refuses an invalid tenant id', async () => {
    expect(await codeOf(tokens.issue('../x', { purpose: 'invitation', subject: 's', createdBy: 'o' }))).toBe('ERR_TENANT_ID_INVALID');
  });
});
