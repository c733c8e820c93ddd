import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INFLATE_LIMITS, InflateLimitError, readRecordFile, type InflateLimits } from '../../../src/import/record-file-reader.js';

const MiB = 1024 * 1024;
let dir: string;
const bombs: Record<'json' | 'ndjson', { path: string; bytes: number }> = { json: { path: '', bytes: 0 }, ndjson: { path: '', bytes: 0 } };

/** A real gzip bomb: `mib` MiB of one byte (whitespace the reader skips), between `head` and `tail`, at level 9. */
async function gzipBomb(path: string, head: string, filler: number, mib: number, tail: string): Promise<number> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => parts.push(chunk));
  const ended = new Promise((resolve) => gzip.on('end', resolve));
  const block = Buffer.alloc(MiB, filler);
  gzip.write(head);
  for (let i = 0; i < mib; i += 1) if (!gzip.write(block)) await new Promise((resolve) => gzip.once('drain', resolve));
  gzip.end(tail);
  await ended;
  const bytes = Buffer.concat(parts);
  await writeFile(path, bytes);
  return bytes.length;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inflate-limits-'));
  bombs.json = { path: join(dir, 'bomb.json.gz'), bytes: 0 };
  bombs.json.bytes = await gzipBomb(bombs.json.path, '[', 0x20, 512, ']');
  bombs.ndjson = { path: join(dir, 'bomb.ndjson.gz'), bytes: 0 };
  bombs.ndjson.bytes = await gzipBomb(bombs.ndjson.path, '', 0x0a, 256, '');
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(path: string, encoding: 'json' | 'ndjson', limits?: InflateLimits): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const value of readRecordFile(path, { encoding, gzip: true, ...(limits ? { inflateLimits: limits } : {}) })) out.push(value);
  return out;
}

async function failureOf(promise: Promise<unknown>): Promise<InflateLimitError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InflateLimitError);
  return err as InflateLimitError;
}

describe('gzip bombs', () => {
  it('are small files inflating to hundreds of MiB (the JSON one: 0.5 MB to 0.5 GiB)', () => {
    expect(bombs.json.bytes).toBeLessThan(MiB);
    expect(bombs.ndjson.bytes).toBeLessThan(MiB / 2);
  });

  it.each(['json', 'ndjson'] as const)('a %s bomb is refused by the default ratio limit long before its end', async (encoding) => {
    const bomb = bombs[encoding];
    const err = await failureOf(readAll(bomb.path, encoding));
    expect(err.code).toBe('ERR_IMPORT_INFLATE_RATIO_EXCEEDED');
    expect(err.message).toContain('IMPORT_MAX_INFLATE_RATIO');
    expect(err.inflatedBytes).toBeGreaterThan(DEFAULT_INFLATE_LIMITS.maxInflateRatio * bomb.bytes);
    expect(err.inflatedBytes).toBeLessThan(DEFAULT_INFLATE_LIMITS.maxInflateRatio * bomb.bytes + MiB);
    expect(err.compressedBytesRead).toBeLessThan(bomb.bytes / 2);
  });

  it.each(['json', 'ndjson'] as const)('a %s bomb is refused by the inflated-size cap when the ratio is allowed', async (encoding) => {
    const bomb = bombs[encoding];
    const err = await failureOf(readAll(bomb.path, encoding, { maxInflatedBytes: 8 * MiB, maxInflateRatio: 100_000, ratioAfterBytes: 0 }));
    expect(err.code).toBe('ERR_IMPORT_INFLATED_TOO_LARGE');
    expect(err.message).toContain('IMPORT_MAX_INFLATED_BYTES');
    expect(err.inflatedBytes).toBeGreaterThan(8 * MiB);
    expect(err.inflatedBytes).toBeLessThan(9 * MiB);
    expect(err.compressedBytesRead).toBeLessThan(bomb.bytes / 2);
  });

  it('the ratio applies only past IMPORT_INFLATE_RATIO_AFTER_BYTES, and files within every limit are read whole', async () => {
    const small = join(dir, 'small-bomb.json.gz');
    const bytes = await gzipBomb(small, '[', 0x20, 4, '{"id":"last"}]');
    expect((4 * MiB) / bytes).toBeGreaterThan(DEFAULT_INFLATE_LIMITS.maxInflateRatio);
    expect(await readAll(small, 'json')).toEqual([{ id: 'last' }]);
    await expect(readAll(small, 'json', { ...DEFAULT_INFLATE_LIMITS, ratioAfterBytes: MiB })).rejects.toMatchObject({
      code: 'ERR_IMPORT_INFLATE_RATIO_EXCEEDED',
    });

    const records = Array.from({ length: 2_000 }, (_, i) => ({ id: `r-${i}`, text: `message ${i} from ${(i * 7919) % 1000}` }));
    const plain = join(dir, 'records.json.gz');
    await writeFile(plain, gzipSync(JSON.stringify(records)));
    expect(await readAll(plain, 'json', { maxInflatedBytes: MiB, maxInflateRatio: 2, ratioAfterBytes: 0 }).catch((e: { code: string }) => e.code)).toBe(
      'ERR_IMPORT_INFLATE_RATIO_EXCEEDED',
    );
    expect(await readAll(plain, 'json', { maxInflatedBytes: MiB, maxInflateRatio: 100, ratioAfterBytes: 0 })).toEqual(records);
    expect((await stat(plain)).size).toBeLessThan(JSON.stringify(records).length);
  });

  it('does not limit files that are not gzipped', async () => {
    const path = join(dir, 'spaces.json');
    await writeFile(path, `[${' '.repeat(2 * MiB)}]`);
    const out: unknown[] = [];
    for await (const value of readRecordFile(path, {
      encoding: 'json',
      gzip: false,
      inflateLimits: { maxInflatedBytes: MiB, maxInflateRatio: 2, ratioAfterBytes: 0 },
    }))
      out.push(value);
    expect(out).toEqual([]);
  });
});
