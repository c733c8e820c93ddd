import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tidyDeliveryLeftovers } from '../../../src/delivery/delivery-leftovers.js';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import type { Target } from '../../../src/delivery/target.js';
import { RetentionError } from '../../../src/errors.js';

const day = 'acme/2026/11/23';

describe('tidyDeliveryLeftovers', () => {
  let root: string;
  let target: LocalDirectoryTarget;

  const put = async (path: string, content: string): Promise<void> => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  };
  const namesIn = async (path: string): Promise<string[]> => (await readdir(join(root, path))).sort();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'retention-leftovers-'));
    target = new LocalDirectoryTarget({ root });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('remove .part files of uploads never finished, in the day and its type folders, and leave everything else', async () => {
    await put(`${day}/chats/chats-a.json`, 'kept');
    await put(`${day}/chats/chats-b.json.part`, 'half');
    await put(`${day}/rejected/chats-c.json.part`, 'half');
    await put(`${day}/manifest-x.json.part`, 'half');
    await put(`${day}/manifest-x.json`, 'kept');
    await put('acme/2026/11/24/chats/other-day.json.part', 'not this run’s day');
    const report = await tidyDeliveryLeftovers(target, [day], { subdirectories: true });
    expect(report.removedPartials.sort()).toEqual([`${day}/chats/chats-b.json.part`, `${day}/manifest-x.json.part`, `${day}/rejected/chats-c.json.part`]);
    expect(report.failed).toEqual([]);
    expect(await namesIn(`${day}/chats`)).toEqual(['chats-a.json']);
    expect(await namesIn(day)).toEqual(['chats', 'manifest-x.json', 'rejected']);
    expect(await namesIn('acme/2026/11/24/chats')).toEqual(['other-day.json.part']);
  });

  it('remove recovery copies of files that exist, and put a missing file back from its newest copy', async () => {
    await put(`${day}/chats/done.json`, 'new bytes');
    await put(`${day}/chats/done.json.replaced-20261123T170000Z-00000001`, 'old bytes');
    await put(`${day}/chats/lost.json.replaced-20261123T170000Z-00000002`, 'older');
    await put(`${day}/chats/lost.json.replaced-20261123T180000Z-00000003`, 'newest');
    const report = await tidyDeliveryLeftovers(target, [day], { subdirectories: true });
    expect(report.restored).toEqual([{ path: `${day}/chats/lost.json`, from: `${day}/chats/lost.json.replaced-20261123T180000Z-00000003` }]);
    expect(report.removedRecoveryCopies.sort()).toEqual([
      `${day}/chats/done.json.replaced-20261123T170000Z-00000001`,
      `${day}/chats/lost.json.replaced-20261123T170000Z-00000002`,
    ]);
    expect(await namesIn(`${day}/chats`)).toEqual(['done.json', 'lost.json']);
    expect(await readFile(join(root, `${day}/chats/lost.json`), 'utf8')).toBe('newest');
    expect(await readFile(join(root, `${day}/chats/done.json`), 'utf8')).toBe('new bytes');
  });

  it('accept directories that do not exist', async () => {
    const report = await tidyDeliveryLeftovers(target, ['acme/2030/01/01'], { subdirectories: true });
    expect(report).toEqual({ removedPartials: [], removedRecoveryCopies: [], restored: [], failed: [] });
  });

  it('report a removal the server refuses and go on; throw a lost connection', async () => {
    await put(`${day}/a.json.part`, 'half');
    await put(`${day}/b.json.part`, 'half');
    const refusing: Target = Object.assign(Object.create(target) as LocalDirectoryTarget, {
      async remove(path: string): Promise<void> {
        if (path.endsWith('a.json.part')) throw new RetentionError('ERR_TARGET_PERMISSION', `permission denied on ${path}`);
        await target.remove(path);
      },
    });
    const report = await tidyDeliveryLeftovers(refusing, [day]);
    expect(report.failed).toEqual([{ path: `${day}/a.json.part`, message: expect.stringContaining('ERR_TARGET_PERMISSION') }]);
    expect(report.removedPartials).toEqual([`${day}/b.json.part`]);

    const disconnected: Target = Object.assign(Object.create(target) as LocalDirectoryTarget, {
      async remove(): Promise<void> {
        throw new RetentionError('ERR_TARGET_UNREACHABLE', 'connection lost');
      },
    });
    await expect(tidyDeliveryLeftovers(disconnected, [day])).rejects.toMatchObject({ code: 'ERR_TARGET_UNREACHABLE' });
  });
});
