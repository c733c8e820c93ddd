/**
 * Encoder benchmark: 1,000,000 synthetic chat-sized records through `writeRecordFiles`, gzip off and on.
 * Prints records/s, MB/s (encoded text before gzip, and bytes on disk) and peak RSS; the time of the record generator
 * alone is printed first, since it is part of every run.
 *
 * Run: npx tsx bench/encode.bench.ts [records]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordFileName } from '../src/archive/drop-layout.js';
import { writeRecordFiles } from '../src/archive/record-file-writer.js';

const total = Number(process.argv[2] ?? 1_000_000);
const window = { from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-24T00:00:00Z') };
const channels = ['web', 'app', 'whatsapp', 'sms', 'email'] as const;

async function* syntheticChats(count: number): AsyncGenerator<Record<string, unknown>> {
  const base = window.from.getTime();
  for (let index = 0; index < count; index += 1) {
    const startedAt = new Date(base + (index % 86_400) * 1000);
    yield {
      id: `chat-${index.toString(36)}`,
      tenantId: 'bench',
      schemaVersion: 1,
      createdAt: startedAt.toISOString(),
      updatedAt: new Date(startedAt.getTime() + 600_000).toISOString(),
      channel: channels[index % channels.length],
      status: 'closed',
      visitor: { name: `Visitor ${index % 5000}`, locale: 'en-GB', location: 'London, GB' },
      participants: [
        { id: `p-${index}-1`, role: 'customer', contactId: `contact-${index % 20_000}`, displayName: `Visitor ${index % 5000}` },
        { id: `p-${index}-2`, role: 'agent', staffId: `staff-${index % 40}`, displayName: `Agent ${index % 40}` },
      ],
      startedAt: startedAt.toISOString(),
      closedAt: new Date(startedAt.getTime() + 540_000).toISOString(),
      messages: Array.from({ length: 3 }, (_, seq) => ({
        id: `m-${index}-${seq}`,
        seq,
        sentAt: new Date(startedAt.getTime() + seq * 30_000).toISOString(),
        senderRole: seq % 2 === 0 ? 'customer' : 'agent',
        type: 'text',
        text: seq % 2 === 0 ? `Hello, I have a question about order ${100_000 + (index % 90_000)}.` : 'Thanks for reaching out, let me check that for you.',
      })),
      tags: index % 3 === 0 ? ['billing'] : ['support', 'priority'],
      rating: (index % 5) + 1,
    };
  }
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

async function run(gzip: boolean): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'retention-encode-bench-'));
  peakRss = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  try {
    const files = await writeRecordFiles(syntheticChats(total), {
      directory,
      encoding: 'json',
      gzip,
      maxRecords: 50_000,
      fileName: (part) => recordFileName({ type: 'chats', window, part, encoding: 'json', gzip, runId: 'bench' }),
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const encoded = files.reduce((sum, file) => sum + file.encodedBytes, 0);
    const onDisk = files.reduce((sum, file) => sum + file.bytes, 0);
    const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
    console.log(
      [
        `gzip ${gzip ? 'on ' : 'off'}: ${total.toLocaleString('en')} records in ${seconds.toFixed(2)} s`,
        `${Math.round(total / seconds).toLocaleString('en')} records/s`,
        `${mb(encoded / seconds)} MB/s encoded (${mb(encoded)} MB)`,
        `${mb(onDisk / seconds)} MB/s on disk (${mb(onDisk)} MB, ${files.length} files)`,
        `peak RSS ${mb(peakRss)} MB`,
      ].join(' | '),
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function baseline(): Promise<void> {
  const started = process.hrtime.bigint();
  let count = 0;
  for await (const record of syntheticChats(total)) if (record.id !== undefined) count += 1;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`generator alone (included in the runs below): ${count.toLocaleString('en')} records in ${seconds.toFixed(2)} s`);
}

try {
  await baseline();
  await run(false);
  await run(true);
} finally {
  clearInterval(sampler);
}
