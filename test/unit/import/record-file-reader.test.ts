import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecordFile } from '../../../src/import/record-file-reader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'record-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function read(content: string | Buffer, format: { encoding: 'json' | 'ndjson'; gzip: boolean }): Promise<unknown[]> {
  const path = join(dir, `f-${Math.random().toString(16).slice(2)}`);
  await writeFile(path, content);
  const out: unknown[] = [];
  for await (const value of readRecordFile(path, format)) out.push(value);
  return out;
}

const records = [
  { id: 'a', text: 'brace } and bracket ] and comma , in "quotes" \\ too' },
  { id: 'b', nested: { list: [1, [2, { x: ']' }]] } },
  { id: 'c', emoji: 'héllo 👋' },
];

describe('readRecordFile', () => {
  it.each([
    ['the exporter layout', `[\n${records.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`],
    ['one line', JSON.stringify(records)],
    ['pretty-printed', JSON.stringify(records, null, 2)],
  ])('reads a JSON array in %s', async (_name, text) => {
    expect(await read(text, { encoding: 'json', gzip: false })).toEqual(records);
    expect(await read(gzipSync(Buffer.from(text)), { encoding: 'json', gzip: true })).toEqual(records);
  });

  it('reads records split across stream chunks (a 200 kB string inside a record)', async () => {
    const big = [{ id: 'big', text: 'x"y\\'.repeat(50_000) }, { id: 'next' }];
    expect(await read(JSON.stringify(big), { encoding: 'json', gzip: false })).toEqual(big);
  });

  it('reads NDJSON, with blank lines and without a final newline', async () => {
    const text = `${records.map((r) => JSON.stringify(r)).join('\n\n')}`;
    expect(await read(text, { encoding: 'ndjson', gzip: false })).toEqual(records);
    expect(await read('', { encoding: 'ndjson', gzip: false })).toEqual([]);
    expect(await read('[]', { encoding: 'json', gzip: false })).toEqual([]);
  });

  it.each([
    ['not an array', '{"id":"a"}', 'json'],
    ['an unclosed array', '[{"id":"a"}', 'json'],
    ['a trailing comma', '[{"id":"a"},]', 'json'],
    ['an empty element', '[{"id":"a"},,{"id":"b"}]', 'json'],
    ['data after the array', '[{"id":"a"}] x', 'json'],
    ['a broken record', '[{"id":"a"},{"id":}]', 'json'],
    ['a broken NDJSON line', '{"id":"a"}\n{"id"\n', 'ndjson'],
  ] as const)('refuses %s with ERR_IMPORT_FILE_UNREADABLE', async (_name, text, encoding) => {
    await expect(read(text, { encoding, gzip: false })).rejects.toMatchObject({ code: 'ERR_IMPORT_FILE_UNREADABLE' });
  });

  it('refuses a file that is not gzip although its name says so', async () => {
    await expect(read('[]', { encoding: 'json', gzip: true })).rejects.toMatchObject({ code: 'ERR_IMPORT_FILE_UNREADABLE' });
  });
});
