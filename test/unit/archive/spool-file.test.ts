import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpoolFile } from '../../../src/archive/spool-file.js';
import type { RetentionError } from '../../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retention-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Pieces around a small batch size: empty, tiny, multi-byte text, exactly a batch, several batches, and bytes. */
function pieces(batchBytes: number): (string | Uint8Array)[] {
  return [
    '',
    '[',
    'ünïcødé ✓ 😀',
    Buffer.from('bytes ✓'),
    'x'.repeat(batchBytes),
    '😀'.repeat(batchBytes),
    Buffer.alloc(batchBytes * 5, 'b'),
    'é'.repeat(batchBytes * 3 + 1),
    new Uint8Array(0),
    ']\n',
  ];
}

const text = (parts: (string | Uint8Array)[]): Buffer => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));

describe('SpoolFile', () => {
  it.each([
    ['plain', false],
    ['gzip', true],
  ])('%s: writes exactly what was appended, in order, whatever the piece sizes, and measures the bytes on disk', async (_label, gzip) => {
    const batchBytes = 64;
    const file = new SpoolFile(join(dir, 'out'), { batchBytes, gzip });
    const parts = pieces(batchBytes);
    for (const part of parts) if (file.append(part)) await file.flush();
    await file.write('tail via write');
    const digest = await file.finish();
    const disk = await readFile(join(dir, 'out'));
    expect((gzip ? gunzipSync(disk) : disk).equals(text([...parts, 'tail via write']))).toBe(true);
    expect(digest).toEqual({ bytes: disk.length, sha256: createHash('sha256').update(disk).digest('hex') });
  });

  it('says a batch is full once it holds batchBytes, and not before', () => {
    const file = new SpoolFile(join(dir, 'out'), { batchBytes: 10 });
    expect(file.append('123456789')).toBe(false);
    expect(file.append('0')).toBe(true);
    void file.abort();
  });

  it('refuses to finish twice and deletes the file on abort', async () => {
    const file = new SpoolFile(join(dir, 'out'));
    await file.write('[]\n');
    await file.finish();
    await expect(file.finish()).rejects.toMatchObject({ code: 'ERR_SPOOL_FINISHED' } satisfies Partial<RetentionError>);
    const aborted = new SpoolFile(join(dir, 'gone'));
    aborted.append('partial');
    await aborted.flush();
    await aborted.abort();
    await expect(stat(join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
