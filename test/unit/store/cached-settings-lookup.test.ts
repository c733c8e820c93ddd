import { describe, expect, it } from 'vitest';
import { cachedSettingsLookup, type ArchiveSettingsLookup } from '../../../src/store/archive/archive-databases.js';

/** A settings lookup of our own port that counts its reads and can be told to fail. */
function countingLookup(): { lookup: ArchiveSettingsLookup; reads: string[]; failNext: () => void; uri: { value: string | undefined } } {
  const reads: string[] = [];
  const uri: { value: string | undefined } = { value: 'v1.k1.sealed-a' };
  let fail = false;
  return {
    reads,
    uri,
    failNext: () => {
      fail = true;
    },
    lookup: async (tenantId) => {
      reads.push(tenantId);
      if (fail) {
        fail = false;
        throw new Error('control plane unreachable');
      }
      return uri.value === undefined ? {} : { archiveMongoUri: uri.value };
    },
  };
}

describe('cachedSettingsLookup', () => {
  it('reads a tenant once per ttl, shares concurrent reads and reads again after the ttl', async () => {
    let clock = 1_000;
    const source = countingLookup();
    const lookup = cachedSettingsLookup(source.lookup, { ttlMs: 5_000, now: () => clock });
    const [a, b] = await Promise.all([lookup('acme'), lookup('acme')]);
    expect(a).toEqual({ archiveMongoUri: 'v1.k1.sealed-a' });
    expect(b).toBe(a);
    await lookup('globex');
    expect(source.reads).toEqual(['acme', 'globex']);
    source.uri.value = 'v1.k1.sealed-b';
    clock += 4_999;
    expect(await lookup('acme')).toEqual({ archiveMongoUri: 'v1.k1.sealed-a' });
    clock += 1;
    expect(await lookup('acme')).toEqual({ archiveMongoUri: 'v1.k1.sealed-b' });
    expect(source.reads).toEqual(['acme', 'globex', 'acme']);
  });

  it('does not remember a failed read', async () => {
    const source = countingLookup();
    const lookup = cachedSettingsLookup(source.lookup, { ttlMs: 60_000, now: () => 0 });
    source.failNext();
    await expect(lookup('acme')).rejects.toThrow('control plane unreachable');
    expect(await lookup('acme')).toEqual({ archiveMongoUri: 'v1.k1.sealed-a' });
    expect(source.reads).toEqual(['acme', 'acme']);
  });
});
