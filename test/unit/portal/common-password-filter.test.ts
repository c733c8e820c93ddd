import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMON_PASSWORDS } from '../../../src/auth/common-passwords.js';
import { COMMON_PASSWORD_FILTER } from '../../../views/assets/common-password-filter.js';
import { decodeCommonPasswordFilter } from '../../../views/assets/password-strength.js';
import { encodeCommonPasswordFilter, renderCommonPasswordFilterModule } from '../../support/common-password-filter.js';

const ASSET = new URL('../../../views/assets/common-password-filter.js', import.meta.url);
const LIST = new URL('../../../src/auth/common-passwords.ts', import.meta.url);

describe('common-password filter of the strength meter (views/assets/common-password-filter.js)', () => {
  it('is generated from src/auth/common-passwords.ts (regenerate with --update when the list changes)', async () => {
    await expect(renderCommonPasswordFilterModule(encodeCommonPasswordFilter(COMMON_PASSWORDS))).toMatchFileSnapshot(
      '../../../views/assets/common-password-filter.js',
    );
  });

  it('ASVS 2.1.7 / 2.1.8: finds every password of the server blocklist', () => {
    const filter = decodeCommonPasswordFilter(COMMON_PASSWORD_FILTER);
    expect(COMMON_PASSWORD_FILTER.entries).toBe(COMMON_PASSWORDS.length);
    expect(COMMON_PASSWORDS.filter((p) => !filter.mayContain(p))).toEqual([]);
  });

  it('takes an unlisted password for a common one about once in 65,536 lookups', () => {
    const filter = decodeCommonPasswordFilter(COMMON_PASSWORD_FILTER);
    const lookups = 200_000;
    let falsePositives = 0;
    for (let i = 0; i < lookups; i += 1) if (filter.mayContain(`unlisted-${i.toString(36)}-${i * 7919}`)) falsePositives += 1;
    expect(falsePositives / lookups).toBeLessThan(1 / 10_000);
  });

  it('is about a third of the size of the list it stands for, so password pages stay light', () => {
    const assetBytes = statSync(ASSET).size;
    expect(assetBytes).toBeLessThan(64 * 1024);
    expect(assetBytes).toBeLessThan(statSync(LIST).size / 3);
  });

  it.each([
    ['an empty list', [] as string[]],
    ['one password', ['correcthorse']],
    ['neighbouring hashes', ['aaaaaaaa', 'aaaaaaab', 'aaaaaaac', 'aaaaaaad']],
  ])('round-trips %s', (_case, passwords) => {
    const filter = decodeCommonPasswordFilter(encodeCommonPasswordFilter(passwords));
    for (const p of passwords) expect(filter.mayContain(p)).toBe(true);
    expect(filter.mayContain('granite-pelican-saffron-tunnel')).toBe(false);
  });
});
