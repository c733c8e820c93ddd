import { mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKeyring } from '../../../src/crypto/keyring.js';
import { createTarget } from '../../../src/delivery/create-target.js';
import { resolveLocalTargetDirectory } from '../../../src/delivery/local-target-base.js';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import { NetworkPolicy } from '../../../src/network/network-policy.js';
import { isPermanentFailure } from '../../../src/queue/permanent-failure.js';
import { rejectionCode } from './target-contract.js';

const keyring = parseKeyring(`test:${Buffer.alloc(32, 3).toString('base64')}`);
let scratch: string;
let base: string;
let outside: string;
let spoolFile: string;

beforeAll(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'retention-local-base-')));
  base = join(scratch, 'base');
  outside = join(scratch, 'outside');
  await mkdir(join(base, 'acme'), { recursive: true });
  await mkdir(outside);
  await mkdir(join(scratch, 'base-evil'));
  await symlink(outside, join(base, 'escape'));
  await symlink(join(base, 'acme'), join(scratch, 'way-in'));
  await symlink(base, join(scratch, 'base-link'));
  spoolFile = join(scratch, 'spool.json');
  await writeFile(spoolFile, '[1]');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('LOCAL_TARGET_BASE_DIR: a local target lies below the base by its real path (issue #10.6)', () => {
  it.each([
    ['the base itself', () => base, () => base],
    ['a directory below it', () => join(base, 'acme'), () => join(base, 'acme')],
    ['a directory below it that does not exist yet', () => join(base, 'acme', 'new', 'deep'), () => join(base, 'acme', 'new', 'deep')],
    ['a link outside that leads into it', () => join(scratch, 'way-in'), () => join(base, 'acme')],
  ])('allows %s and returns its real path', async (_label, directory, real) => {
    expect(await resolveLocalTargetDirectory(base, directory())).toBe(real());
  });

  it('compares real paths on the base side too: a base given through a symbolic link', async () => {
    expect(await resolveLocalTargetDirectory(join(scratch, 'base-link'), join(base, 'acme'))).toBe(join(base, 'acme'));
  });

  it.each([
    ['a directory outside', () => outside],
    ['a sibling sharing the base name as prefix', () => join(scratch, 'base-evil')],
    ['".." out of the base', () => `${base}/acme/../../outside`],
    ['a symbolic link inside the base that leads out', () => join(base, 'escape')],
    ['a directory below such a link, not created yet', () => join(base, 'escape', 'not-yet')],
    ['the root of the machine', () => '/'],
    ['/etc', () => '/etc'],
  ])('refuses %s with ERR_LOCAL_TARGET_OUTSIDE_BASE, naming the variable', async (_label, directory) => {
    const err = await resolveLocalTargetDirectory(base, directory()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_LOCAL_TARGET_OUTSIDE_BASE', status: 400 });
    expect((err as Error).message).toContain('LOCAL_TARGET_BASE_DIR');
    expect(isPermanentFailure(err)).toBe(true);
  });

  it('refuses every local target when no base is set (ERR_LOCAL_TARGET_DISABLED)', async () => {
    const err = await resolveLocalTargetDirectory(undefined, join(base, 'acme')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_LOCAL_TARGET_DISABLED' });
    expect((err as Error).message).toContain('LOCAL_TARGET_BASE_DIR');
    expect(isPermanentFailure(err)).toBe(true);
  });
});

describe('createTarget with the destination policy', () => {
  const settings = (directory: string) => ({ kind: 'local' as const, directory });

  it('refuses a local target at once when the operator set no base', () => {
    expect(() => createTarget(keyring, 'acme', settings(join(base, 'acme')), { network: new NetworkPolicy(), localTargetBaseDir: undefined })).toThrow(
      expect.objectContaining({ code: 'ERR_LOCAL_TARGET_DISABLED' }),
    );
  });

  it('delivers below the base when the operator allows it', async () => {
    const target = createTarget(keyring, 'acme', settings(join(base, 'acme')), { network: new NetworkPolicy(), localTargetBaseDir: base });
    await target.uploadAtomically(spoolFile, 'acme/2026/01/01/chats/a.json', { bytes: 3 });
    expect(await readdir(join(base, 'acme', 'acme', '2026', '01', '01', 'chats'))).toEqual(['a.json']);
  });

  it('writes nothing through a link that leads out of the base, on any operation', async () => {
    const target = createTarget(keyring, 'acme', settings(join(base, 'escape')), { network: new NetworkPolicy(), localTargetBaseDir: base });
    expect(await rejectionCode(target.uploadAtomically(spoolFile, 'acme/x.json', { bytes: 3 }))).toBe('ERR_LOCAL_TARGET_OUTSIDE_BASE');
    expect(await rejectionCode(target.list('acme'))).toBe('ERR_LOCAL_TARGET_OUTSIDE_BASE');
    expect(await rejectionCode(target.read('acme/x.json'))).toBe('ERR_LOCAL_TARGET_OUTSIDE_BASE');
    expect(await rejectionCode(target.stat('acme/x.json'))).toBe('ERR_LOCAL_TARGET_OUTSIDE_BASE');
    expect(await rejectionCode(target.remove('acme/x.json'))).toBe('ERR_LOCAL_TARGET_OUTSIDE_BASE');
    expect(await readdir(outside)).toEqual([]);
  });

  it('checks again at every operation: a root swapped for a link out after the target was made is refused', async () => {
    const root = join(base, 'swapped');
    await mkdir(root);
    const target = new LocalDirectoryTarget({ root, baseDirectory: base });
    await target.uploadAtomically(spoolFile, 'first.json', { bytes: 3 });
    await rm(root, { recursive: true });
    await symlink(outside, root);
    expect(await rejectionCode(target.uploadAtomically(spoolFile, 'second.json', { bytes: 3 }))).toBe('ERR_LOCAL_TARGET_OUTSIDE_BASE');
    expect(await readdir(outside)).toEqual([]);
  });
});
