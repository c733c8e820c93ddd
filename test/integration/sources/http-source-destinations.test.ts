import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { sealSecret } from '../../../src/crypto/secret-box.js';
import { parseDestinationAllowlist } from '../../../src/network/destination-allowlist.js';
import { NetworkPolicy } from '../../../src/network/network-policy.js';
import { toJobError } from '../../../src/queue/permanent-failure.js';
import { createSource } from '../../../src/sources/create-source.js';
import { HttpSource } from '../../../src/sources/http-source.js';
import type { Source, TimeWindow } from '../../../src/sources/source.js';
import { secretContext } from '../../../src/tenants/secret-context.js';
import { startExportApiFixture, type ExportApiFixture } from '../../support/export-api-fixture.js';
import { staticResolver } from '../../support/destinations.js';

const token = 'tok_destination-test-0123456789';
const window: TimeWindow = { from: new Date('2025-01-01T00:00:00.000Z'), to: new Date('2025-01-01T01:00:00.000Z') };
let api: ExportApiFixture;
let port: string;
let waits: number[];

beforeEach(async () => {
  api = await startExportApiFixture({ token, records: { chats: 7 } });
  port = new URL(api.baseUrl).port;
  waits = [];
});
afterEach(async () => {
  await api.close();
});

async function readAll(source: Source): Promise<number> {
  let records = 0;
  for await (const page of source.read('chats', window)) records += page.records.length;
  return records;
}

const source = (baseUrl: string, network: NetworkPolicy) =>
  new HttpSource({ baseUrl, token, network, maxAttempts: 3, sleep: async (ms) => void waits.push(ms) });

describe('http source: only destinations the operator allows, checked at connect time (issue #10.6)', () => {
  it.each([
    ['a host name resolving to loopback (localhost, real resolver)', () => `http://localhost:${port}`],
    ['a loopback address', () => `http://127.0.0.1:${port}`],
    ['an IPv4-mapped IPv6 loopback address', () => `http://[::ffff:127.0.0.1]:${port}`],
    ['the IPv6 loopback address', () => `http://[::1]:${port}`],
  ])('refuses %s by default: ERR_DESTINATION_NOT_ALLOWED, permanent, nothing sent, no retries', async (_label, baseUrl) => {
    const err = await readAll(source(baseUrl(), new NetworkPolicy())).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DESTINATION_NOT_ALLOWED' });
    expect((err as Error).message).toContain('ALLOWED_PRIVATE_DESTINATIONS');
    expect((err as Error).message).not.toContain(token);
    expect(toJobError(err).name).toBe('UnrecoverableError');
    expect(api.requests).toHaveLength(0);
    expect(waits).toEqual([]);
  });

  it('refuses a name whose DNS answer changed to a private address after the settings were saved (DNS rebinding)', async () => {
    let answer = ['93.184.216.34'];
    const network = new NetworkPolicy({ resolve: staticResolver({ 'api.rebind.test': () => answer }) });
    expect(await network.resolve('export API', 'api.rebind.test')).toEqual([{ address: '93.184.216.34', family: 4 }]);
    answer = ['10.1.2.3'];
    const err = await readAll(source('http://api.rebind.test/', network)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DESTINATION_NOT_ALLOWED' });
    expect(waits).toEqual([]);
  });

  it('connects to the address it checked: a name unknown to DNS, answered by the policy resolver, reaches the fixture', async () => {
    const network = new NetworkPolicy({ allowlist: parseDestinationAllowlist('127.0.0.1'), resolve: staticResolver({ 'api.export.test': ['127.0.0.1'] }) });
    expect(await readAll(source(`http://api.export.test:${port}`, network))).toBe(7);
    expect(api.requests.length).toBeGreaterThan(0);
  });

  it('allowed when the operator allows it: loopback listed in the allowlist', async () => {
    expect(await readAll(source(api.baseUrl, new NetworkPolicy({ allowlist: parseDestinationAllowlist('127.0.0.0/8, ::1/128') })))).toBe(7);
  });

  it('createSource binds the http source to the destination policy it is given', async () => {
    const keyring = parseKeyring(`test:${Buffer.alloc(32, 4).toString('base64')}`);
    const settings = { kind: 'http' as const, baseUrl: api.baseUrl, token: sealSecret(keyring, token, secretContext('acme', 'source.token')), pageSize: 5 };
    const refused = await readAll(createSource(keyring, 'acme', settings, { network: new NetworkPolicy() })).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERR_DESTINATION_NOT_ALLOWED' });
    expect(api.requests).toHaveLength(0);
    expect(await readAll(createSource(keyring, 'acme', settings, { network: new NetworkPolicy({ allowlist: parseDestinationAllowlist('127.0.0.1') }) }))).toBe(
      7,
    );
  });
});
