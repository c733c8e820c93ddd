import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import {
  findRecoveryCopy,
  parseRecoveryName,
  partialUploadOriginal,
  recoveryCopiesIn,
  recoveryNameFor,
  restoreFromRecoveryCopy,
} from '../../../src/delivery/recovery-names.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('recovery names', () => {
  it('name a copy after the file, the UTC second of the replace and a token, and take it apart again', () => {
    const name = recoveryNameFor('chats-1.json', new Date('2026-11-23T17:00:00.250Z'), '0a1b2c3d');
    expect(name).toBe('chats-1.json.replaced-20261123T170000Z-0a1b2c3d');
    expect(parseRecoveryName(name)).toEqual({ original: 'chats-1.json', replacedAt: new Date('2026-11-23T17:00:00Z'), token: '0a1b2c3d' });
  });

  it('give two replaces of one name in the same second different names', () => {
    const at = new Date('2026-11-23T17:00:00Z');
    expect(recoveryNameFor('a.json', at)).not.toBe(recoveryNameFor('a.json', at));
    expect(recoveryNameFor('a.json', at)).toMatch(/^a\.json\.replaced-20261123T170000Z-[0-9a-f]{8}$/);
  });

  it('refuse a token outside 8 hex digits (it would leave the drop alphabet)', () => {
    expect(() => recoveryNameFor('a.json', new Date(), '../x')).toThrow(/8 hex digits/);
  });

  it.each([
    'chats-1.json',
    'chats-1.json.part',
    'chats-1.json.replaced-20261123T170000Z',
    'chats-1.json.replaced-20261123T170000Z-0A1B2C3D',
    'chats-1.json.replaced-20261399T170000Z-0a1b2c3d',
    '.replaced-20261123T170000Z-0a1b2c3d',
  ])('read %s as no recovery name', (name) => {
    expect(parseRecoveryName(name)).toBeUndefined();
  });

  it('recognise partial uploads, and nothing else', () => {
    expect(partialUploadOriginal('chats-1.json.part')).toBe('chats-1.json');
    expect(partialUploadOriginal('.part')).toBeUndefined();
    expect(partialUploadOriginal('chats-1.json')).toBeUndefined();
  });

  it('list the copies of a directory newest first, with the paths of the files they stand for', () => {
    const copies = recoveryCopiesIn('acme/2026/11/23/chats', [
      { name: 'c.json.replaced-20261123T170000Z-00000001', type: 'file', size: 3 },
      { name: 'c.json.replaced-20261123T180000Z-00000002', type: 'file', size: 4 },
      { name: 'c.json', type: 'file', size: 4 },
      { name: 'd.json.replaced-20261123T190000Z-00000003', type: 'directory', size: 0 },
    ]);
    expect(copies.map((copy) => [copy.path, copy.originalPath])).toEqual([
      ['acme/2026/11/23/chats/c.json.replaced-20261123T180000Z-00000002', 'acme/2026/11/23/chats/c.json'],
      ['acme/2026/11/23/chats/c.json.replaced-20261123T170000Z-00000001', 'acme/2026/11/23/chats/c.json'],
    ]);
  });
});

describe('finding and restoring a recovery copy', () => {
  let root: string;
  let target: LocalDirectoryTarget;
  const dir = 'acme/2026/11/23/chats';
  const file = `${dir}/chats-1.json`;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'retention-recovery-'));
    await mkdir(join(root, dir), { recursive: true });
    target = new LocalDirectoryTarget({ root });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('take only a copy with the expected size and SHA-256, the newest of several that match', async () => {
    await writeFile(join(root, `${file}.replaced-20261123T170000Z-00000001`), 'delivered');
    await writeFile(join(root, `${file}.replaced-20261123T180000Z-00000002`), 'delivered');
    await writeFile(join(root, `${file}.replaced-20261123T190000Z-00000003`), 'tampered!');
    const copy = await findRecoveryCopy(target, file, { bytes: 9, sha256: sha256('delivered') });
    expect(copy?.path).toBe(`${file}.replaced-20261123T180000Z-00000002`);
    expect(await findRecoveryCopy(target, file, { bytes: 9, sha256: sha256('something else') })).toBeUndefined();
    expect(await findRecoveryCopy(target, file, { sha256: sha256('delivered') })).toBeDefined();
  });

  it('rename the copy back under the missing name', async () => {
    await writeFile(join(root, `${file}.replaced-20261123T170000Z-00000001`), 'delivered');
    const outcome = await restoreFromRecoveryCopy(target, file, { bytes: 9, sha256: sha256('delivered') });
    expect(outcome).toEqual({ status: 'restored', from: `${file}.replaced-20261123T170000Z-00000001` });
    expect(await readdir(join(root, dir))).toEqual(['chats-1.json']);
    expect(await readFile(join(root, file), 'utf8')).toBe('delivered');
  });

  it('never replace a file that reappeared: the copy stays, and the refusal is reported', async () => {
    await writeFile(join(root, `${file}.replaced-20261123T170000Z-00000001`), 'delivered');
    await writeFile(join(root, file), 'newer');
    const outcome = await restoreFromRecoveryCopy(target, file, { bytes: 9, sha256: sha256('delivered') });
    expect(outcome).toMatchObject({ status: 'not-restored', from: `${file}.replaced-20261123T170000Z-00000001`, error: { code: 'ERR_TARGET_EXISTS' } });
    expect(await readFile(join(root, file), 'utf8')).toBe('newer');
    expect((await readdir(join(root, dir))).sort()).toEqual(['chats-1.json', 'chats-1.json.replaced-20261123T170000Z-00000001']);
  });

  it('report no copy when there is none', async () => {
    expect(await restoreFromRecoveryCopy(target, file, { bytes: 9, sha256: sha256('delivered') })).toEqual({ status: 'no-copy' });
  });
});
