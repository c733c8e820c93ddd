import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDirectoryTarget } from '../../../src/delivery/local-directory-target.js';
import { describeTargetContract } from './target-contract.js';

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'retention-local-target-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

let counter = 0;

describeTargetContract('LocalDirectoryTarget', {
  async create() {
    counter += 1;
    const rootDir = await mkdtemp(join(base, `root-${counter}-`));
    return { target: new LocalDirectoryTarget({ root: rootDir }), rootDir };
  },
  async createWithMissingRoot() {
    const rootDir = join(base, 'does-not-exist');
    return { target: new LocalDirectoryTarget({ root: rootDir }), rootDir };
  },
});

describe('LocalDirectoryTarget', () => {
  it('is of kind "local" and refuses an empty root', () => {
    expect(new LocalDirectoryTarget({ root: base }).kind).toBe('local');
    expect(() => new LocalDirectoryTarget({ root: '' })).toThrow(expect.objectContaining({ code: 'ERR_TARGET_CONFIG_INVALID' }));
  });
});
