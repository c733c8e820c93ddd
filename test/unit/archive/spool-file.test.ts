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

  /** Collects a follower's chunks while the writer goes on, resolving with everything it read. */
  async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
    const read: Buffer[] = [];
    for await (const chunk of chunks) read.push(Buffer.from(chunk));
    return Buffer.concat(read);
  }

  it.each([
    ['plain', false],
    ['gzip', true],
  ])('%s: follow() started before the first write reads exactly the bytes on disk while they are written', async (_label, gzip) => {
    const batchBytes = 64;
    const file = new SpoolFile(join(dir, 'out'), { batchBytes, gzip });
    const follower = file.follow();
    const sawGrowth: number[] = [];
    const reading = (async () => {
      const read: Buffer[] = [];
      for await (const chunk of follower) {
        read.push(Buffer.from(chunk));
        sawGrowth.push(chunk.length);
      }
      return Buffer.concat(read);
    })();
    const parts = pieces(batchBytes);
    for (const part of parts) {
      if (file.append(part)) await file.flush();
      // Give the follower a turn between flushes, as an upload on the event loop would get.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const digest = await file.finish();
    const read = await reading;
    const disk = await readFile(join(dir, 'out'));
    expect(read.equals(disk)).toBe(true);
    expect(read.length).toBe(digest.bytes);
    expect((gzip ? gunzipSync(read) : read).equals(text(parts))).toBe(true);
    // The plain file arrives in several reads as it grows, not in one read after it is finished.
    if (!gzip) expect(sawGrowth.length).toBeGreaterThan(1);
  });

  it('follow() started after finish reads the whole file, and several followers read the same bytes', async () => {
    const file = new SpoolFile(join(dir, 'out'), { batchBytes: 16 });
    const early = collect(file.follow());
    await file.write('x'.repeat(3 * 1024 * 1024));
    await file.write('end');
    await file.finish();
    const late = await collect(file.follow());
    expect(late.toString()).toBe('x'.repeat(3 * 1024 * 1024) + 'end');
    expect((await early).equals(late)).toBe(true);
  });

  it('follow() of an empty finished file ends without yielding', async () => {
    const file = new SpoolFile(join(dir, 'out'));
    await file.finish();
    expect((await collect(file.follow())).length).toBe(0);
  });

  it('follow() fails with ERR_SPOOL_ABANDONED when the file is aborted, never ending as if it were whole', async () => {
    const file = new SpoolFile(join(dir, 'out'), { batchBytes: 16 });
    const following = collect(file.follow());
    following.catch(() => undefined);
    await file.write('partial record text that is longer than a batch');
    await new Promise((resolve) => setTimeout(resolve, 10));
    await file.abort();
    await expect(following).rejects.toMatchObject({ code: 'ERR_SPOOL_ABANDONED' } satisfies Partial<RetentionError>);
    await expect(collect(file.follow())).rejects.toMatchObject({ code: 'ERR_SPOOL_ABANDONED' } satisfies Partial<RetentionError>);
  });

  it('follow() fails with ERR_SPOOL_ABANDONED when the file cannot be written', async () => {
    const file = new SpoolFile(join(dir, 'missing', 'out'), { batchBytes: 16 });
    const following = collect(file.follow());
    following.catch(() => undefined);
    await expect(
      (async () => {
        await file.write('some text');
        await file.finish();
      })(),
    ).rejects.toMatchObject({ code: 'ERR_SPOOL_WRITE' } satisfies Partial<RetentionError>);
    await expect(following).rejects.toMatchObject({ code: 'ERR_SPOOL_ABANDONED' } satisfies Partial<RetentionError>);
  });
});
