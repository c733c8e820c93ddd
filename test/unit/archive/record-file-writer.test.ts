import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordFileName, type RecordEncoding } from '../../../src/archive/drop-layout.js';
import { writeRecordFiles, type RecordFile } from '../../../src/archive/record-file-writer.js';
import { RejectedRecordsWriter } from '../../../src/archive/rejected-records-writer.js';
import { RetentionError } from '../../../src/errors.js';

const window = { from: new Date('2026-11-23T17:00:00Z'), to: new Date('2026-11-23T18:00:00Z') };

function makeRecord(index: number): Record<string, unknown> {
  return {
    id: `chat-${index}`,
    tenantId: 'acme',
    updatedAt: new Date(Date.UTC(2026, 10, 23, 17, 0, index % 3600)).toISOString(),
    text: `message ${index} ünïcødé ✓ "quoted" \\ back\nslash`,
    tags: index % 2 === 0 ? ['vip'] : [],
  };
}

async function* generate(count: number): AsyncGenerator<Record<string, unknown>> {
  for (let index = 0; index < count; index += 1) yield makeRecord(index);
}

async function decode(file: RecordFile, encoding: RecordEncoding, gzip: boolean): Promise<unknown[]> {
  const raw = await readFile(file.localPath);
  const text = (gzip ? gunzipSync(raw) : raw).toString('utf8');
  if (encoding === 'json') return JSON.parse(text) as unknown[];
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as unknown);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retention-encoder-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const naming = (encoding: RecordEncoding, gzip: boolean) => (part: number) => recordFileName({ type: 'chats', window, part, encoding, gzip, runId: 'r1' });

describe('writeRecordFiles', () => {
  it.each([
    ['json', false],
    ['json', true],
    ['ndjson', false],
    ['ndjson', true],
  ] as const)('%s (gzip %s) parses back to exactly the input, with sha256 and bytes of the file on disk', async (encoding, gzip) => {
    const files = await writeRecordFiles(generate(2500), { directory: dir, encoding, gzip, maxRecords: 1000, fileName: naming(encoding, gzip) });
    expect(files.map((file) => [file.part, file.records])).toEqual([
      [1, 1000],
      [2, 1000],
      [3, 500],
    ]);
    const decoded: unknown[] = [];
    for (const file of files) {
      const bytes = await readFile(file.localPath);
      expect(file.bytes).toBe(bytes.length);
      expect(file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(file.fileName).toBe(naming(encoding, gzip)(file.part));
      expect(file.localPath).toBe(join(dir, file.fileName));
      if (gzip) expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      decoded.push(...(await decode(file, encoding, gzip)));
    }
    expect(decoded).toEqual(Array.from({ length: 2500 }, (_, index) => makeRecord(index)));
  });

  it('writes one record per line inside the JSON array', async () => {
    const [file] = await writeRecordFiles(generate(3), { directory: dir, encoding: 'json', fileName: naming('json', false) });
    const text = await readFile(file!.localPath, 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).toBe('[');
    expect(lines.slice(1, 4).map((line) => JSON.parse(line.replace(/,$/, '')) as unknown)).toEqual([makeRecord(0), makeRecord(1), makeRecord(2)]);
    expect(lines.slice(4)).toEqual([']', '']);
    expect(file!.encodedBytes).toBe(Buffer.byteLength(text));
  });

  it.each(['json', 'ndjson'] as const)('splits %s files by encoded bytes and never exceeds the limit', async (encoding) => {
    const maxBytes = 4096;
    const files = await writeRecordFiles(generate(300), { directory: dir, encoding, maxBytes, fileName: naming(encoding, false) });
    expect(files.length).toBeGreaterThan(5);
    const recordSize = Buffer.byteLength(JSON.stringify(makeRecord(0))) + 2;
    for (const file of files) {
      expect(file.bytes).toBeLessThanOrEqual(maxBytes);
      expect(file.bytes).toBe(file.encodedBytes);
      if (file.part < files.length) expect(file.bytes).toBeGreaterThan(maxBytes - 2 * recordSize);
    }
    expect(files.reduce((sum, file) => sum + file.records, 0)).toBe(300);
  });

  it('measures maxBytes before gzip', async () => {
    const files = await writeRecordFiles(generate(300), { directory: dir, encoding: 'json', gzip: true, maxBytes: 4096, fileName: naming('json', true) });
    for (const file of files) {
      expect(file.encodedBytes).toBeLessThanOrEqual(4096);
      expect(gunzipSync(await readFile(file.localPath)).length).toBe(file.encodedBytes);
      expect(file.bytes).toBeLessThan(file.encodedBytes);
    }
  });

  it('puts a record larger than maxBytes alone in its own file', async () => {
    const big = { id: 'big', updatedAt: '2026-11-23T17:30:00.000Z', blob: 'x'.repeat(5000) };
    const input = [makeRecord(1), big, makeRecord(2)];
    const files = await writeRecordFiles(input, { directory: dir, encoding: 'json', maxBytes: 1000, fileName: naming('json', false) });
    expect(files.map((file) => file.records)).toEqual([1, 1, 1]);
    expect(await decode(files[1]!, 'json', false)).toEqual([big]);
  });

  it('reports record count and min/max updatedAt per file', async () => {
    const input = [
      { id: 'a', updatedAt: '2026-11-23T17:30:00Z' },
      { id: 'b', updatedAt: new Date('2026-11-23T17:05:00.500Z') },
      { id: 'c', updatedAt: '2026-11-23T17:59:59.999Z' },
      { id: 'd', updatedAt: '2026-11-23T17:00:00Z' },
    ];
    const files = await writeRecordFiles(input, { directory: dir, encoding: 'ndjson', maxRecords: 3, fileName: naming('ndjson', false) });
    expect(files.map(({ records, minUpdatedAt, maxUpdatedAt }) => ({ records, minUpdatedAt, maxUpdatedAt }))).toEqual([
      { records: 3, minUpdatedAt: '2026-11-23T17:05:00.500Z', maxUpdatedAt: '2026-11-23T17:59:59.999Z' },
      { records: 1, minUpdatedAt: '2026-11-23T17:00:00.000Z', maxUpdatedAt: '2026-11-23T17:00:00.000Z' },
    ]);
  });

  it.each([
    ['json', false, '[]\n'],
    ['json', true, '[]\n'],
    ['ndjson', false, ''],
    ['ndjson', true, ''],
  ] as const)('an empty %s input (gzip %s) still produces one listed file', async (encoding, gzip, content) => {
    const files = await writeRecordFiles(generate(0), { directory: dir, encoding, gzip, fileName: naming(encoding, gzip) });
    expect(files).toHaveLength(1);
    const file = files[0]!;
    const bytes = await readFile(file.localPath);
    expect({ part: file.part, records: file.records, minUpdatedAt: file.minUpdatedAt }).toEqual({ part: 1, records: 0, minUpdatedAt: null });
    expect((gzip ? gunzipSync(bytes) : bytes).toString('utf8')).toBe(content);
    expect(file.bytes).toBe(bytes.length);
    expect(file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('produces byte-identical files for the same input', async () => {
    const first = await writeRecordFiles(generate(500), { directory: dir, encoding: 'json', gzip: true, fileName: naming('json', true) });
    const again = await mkdtemp(join(tmpdir(), 'retention-encoder-'));
    try {
      const second = await writeRecordFiles(generate(500), { directory: again, encoding: 'json', gzip: true, fileName: naming('json', true) });
      expect(second.map((file) => file.sha256)).toEqual(first.map((file) => file.sha256));
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it.each([
    ['a record without updatedAt', [{ id: 'x' }]],
    ['a record with an unparseable updatedAt', [{ id: 'x', updatedAt: 'yesterday' }]],
    ['a non-object record', ['text']],
    ['an array record', [[1, 2]]],
    ['a record with a BigInt', [{ id: 'x', updatedAt: '2026-11-23T17:00:00Z', n: 1n }]],
  ])('refuses %s and leaves no files behind', async (_label, bad) => {
    const input = [...Array.from({ length: 5 }, (_, index) => makeRecord(index)), ...(bad as unknown[])];
    const error = await writeRecordFiles(input, { directory: dir, encoding: 'json', maxRecords: 2, fileName: naming('json', false) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetentionError);
    expect((error as RetentionError).code).toBe('ERR_RECORD_UNENCODABLE');
    expect(await readdir(dir)).toEqual([]);
  });

  it('lets the event loop run while it encodes records that need no I/O, so an upload of a finished file can move', async () => {
    let pulled = 0;
    function* records(): Generator<Record<string, unknown>> {
      for (let index = 0; index < 4_000; index += 1) {
        pulled += 1;
        yield makeRecord(index);
      }
    }
    let pulledAtFirstTurn: number | undefined;
    setImmediate(() => {
      pulledAtFirstTurn = pulled;
    });
    const files = await writeRecordFiles(records(), { directory: dir, encoding: 'ndjson', fileName: naming('ndjson', false) });
    expect(files[0]?.bytes).toBeLessThan(1024 * 1024);
    expect(pulledAtFirstTurn).toBeDefined();
    expect(pulledAtFirstTurn).toBeLessThan(4_000);
  });

  it('deletes its files when the input stream fails', async () => {
    async function* failing(): AsyncGenerator<unknown> {
      yield* generate(10);
      throw new Error('source went away');
    }
    await expect(writeRecordFiles(failing(), { directory: dir, encoding: 'json', maxRecords: 3, fileName: naming('json', false) })).rejects.toThrow(
      'source went away',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('announces each file before its first record, and its follower and completion agree with the finished file', async () => {
    const events: string[] = [];
    const reads: Promise<Buffer>[] = [];
    const completions: Promise<RecordFile>[] = [];
    let pulled = 0;
    async function* counted(): AsyncGenerator<Record<string, unknown>> {
      for await (const record of generate(250)) {
        pulled += 1;
        yield record;
      }
    }
    const files = await writeRecordFiles(counted(), {
      directory: dir,
      encoding: 'ndjson',
      maxRecords: 100,
      fileName: naming('ndjson', false),
      onFileStart: (file) => {
        events.push(`start ${file.part} after ${pulled} records`);
        expect(file.fileName).toBe(naming('ndjson', false)(file.part));
        expect(file.localPath).toBe(join(dir, file.fileName));
        reads.push(
          (async () => {
            const chunks: Buffer[] = [];
            for await (const chunk of file.follow()) chunks.push(Buffer.from(chunk));
            return Buffer.concat(chunks);
          })(),
        );
        completions.push(file.complete);
      },
      onFile: (file) => events.push(`done ${file.part}`),
    });
    expect(events).toEqual(['start 1 after 1 records', 'done 1', 'start 2 after 101 records', 'done 2', 'start 3 after 201 records', 'done 3']);
    expect(await Promise.all(completions)).toEqual(files);
    const followed = await Promise.all(reads);
    for (const [index, file] of files.entries()) expect(followed[index]?.equals(await readFile(file.localPath))).toBe(true);
  });

  it('rejects the completion and the follower of the file being written when the input fails, with ERR_SPOOL_ABANDONED', async () => {
    async function* failing(): AsyncGenerator<unknown> {
      yield* generate(150);
      throw new Error('source went away');
    }
    const completions: Promise<RecordFile>[] = [];
    const reads: Promise<number>[] = [];
    await expect(
      writeRecordFiles(failing(), {
        directory: dir,
        encoding: 'json',
        maxRecords: 100,
        fileName: naming('json', false),
        onFileStart: (file) => {
          completions.push(file.complete);
          const reading = (async () => {
            let bytes = 0;
            for await (const chunk of file.follow()) bytes += chunk.length;
            return bytes;
          })();
          reading.catch(() => undefined);
          reads.push(reading);
        },
      }),
    ).rejects.toThrow('source went away');
    expect(completions).toHaveLength(2);
    await expect(completions[0]).resolves.toMatchObject({ part: 1, records: 100 });
    await expect(completions[1]).rejects.toMatchObject({ code: 'ERR_SPOOL_ABANDONED', message: expect.stringContaining('source went away') as string });
    await expect(reads[1]).rejects.toMatchObject({ code: 'ERR_SPOOL_ABANDONED' });
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([false, true])('fails with ERR_SPOOL_WRITE when the spool directory is missing (gzip %s)', async (gzip) => {
    const error = await writeRecordFiles(generate(3), { directory: join(dir, 'missing'), encoding: 'json', gzip, fileName: naming('json', gzip) }).catch(
      (e: unknown) => e,
    );
    expect((error as RetentionError).code).toBe('ERR_SPOOL_WRITE');
  });

  it.each([
    ['maxRecords 0', { maxRecords: 0 }, 'ERR_ENCODER_OPTIONS_INVALID'],
    ['maxBytes -1', { maxBytes: -1 }, 'ERR_ENCODER_OPTIONS_INVALID'],
    ['an unsafe file name', { fileName: () => '../escape.json' }, 'ERR_PATH_INVALID'],
  ])('refuses %s', async (_label, override, code) => {
    const options = { directory: dir, encoding: 'json' as const, fileName: naming('json', false), ...override };
    const error = await writeRecordFiles(generate(3), options).catch((e: unknown) => e);
    expect((error as RetentionError).code).toBe(code);
  });
});

describe('rejected records', () => {
  it('writes reason, issues and the raw record as a JSON array', async () => {
    const raw = [{ id: 1, updatedAt: 'never', nested: { keep: ['me'] } }, 'not even an object', null];
    const writer = new RejectedRecordsWriter({ directory: dir, fileName: 'chats-20261123T170000Z-20261123T180000Z.json' });
    for (const [index, record] of raw.entries())
      await writer.write({ reason: 'schema', issues: [{ path: index === 0 ? 'updatedAt' : '', message: `bad ${index}` }], record });
    const file = await writer.close();
    expect(file).toBeDefined();
    const bytes = await readFile(file!.localPath);
    expect(file!.records).toBe(3);
    expect(file!.bytes).toBe(bytes.length);
    expect(file!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(JSON.parse(bytes.toString('utf8'))).toEqual([
      { reason: 'schema', issues: [{ path: 'updatedAt', message: 'bad 0' }], record: raw[0] },
      { reason: 'schema', issues: [{ path: '', message: 'bad 1' }], record: 'not even an object' },
      { reason: 'schema', issues: [{ path: '', message: 'bad 2' }], record: null },
    ]);
  });

  it('keeps an unserializable record as text instead of dropping it', async () => {
    const circular: Record<string, unknown> = { id: 'c' };
    circular.self = circular;
    const writer = new RejectedRecordsWriter({ directory: dir, fileName: 'chats-x.json' });
    await writer.write({ reason: 'unserializable', issues: [], record: circular });
    await writer.write({ reason: 'missing', issues: [], record: undefined });
    const file = await writer.close();
    const parsed = JSON.parse(await readFile(file!.localPath, 'utf8')) as { record: unknown }[];
    expect(parsed).toHaveLength(2);
    expect(parsed[0]!.record).toMatchObject({ text: '[object Object]' });
    expect(parsed[1]!.record).toBeNull();
  });

  it('writes no file when nothing was rejected', async () => {
    expect(await new RejectedRecordsWriter({ directory: dir, fileName: 'chats-x.json' }).close()).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an unsafe file name', () => {
    expect(() => new RejectedRecordsWriter({ directory: dir, fileName: '../x.json' })).toThrowError(expect.objectContaining({ code: 'ERR_PATH_INVALID' }));
  });
});
