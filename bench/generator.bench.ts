/**
 * Streams demo records through the generator and JSON encoding, and reports throughput and peak memory.
 * Peak RSS staying flat as the count grows is the constant-memory check.
 *
 *   npx tsx bench/generator.bench.ts [count=1000000] [type=call-logs|chats|contacts|all]
 */
import { generateRecords } from '../src/records/demo-generator.js';
import { isRecordType, RECORD_TYPES, type RecordType } from '../src/records/record-type.js';

const count = Number(process.argv[2] ?? 1_000_000);
const typeArgument = process.argv[3] ?? 'call-logs';
if (!Number.isInteger(count) || count <= 0) throw new Error(`count must be a positive integer, got ${process.argv[2]}`);
if (typeArgument !== 'all' && !isRecordType(typeArgument)) {
  throw new Error(`type must be one of ${RECORD_TYPES.join(', ')} or all, got ${typeArgument}`);
}
const types: readonly RecordType[] = typeArgument === 'all' ? RECORD_TYPES : [typeArgument];

const RATE_PER_HOUR = 100_000;
const from = new Date('2024-01-01T00:00:00.000Z');
const to = new Date(from.getTime() + Math.ceil((count / RATE_PER_HOUR) * 3_600_000) + 3_600_000);

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

for (const type of types) {
  const startRss = peakRssMiB();
  const started = process.hrtime.bigint();
  let records = 0;
  let bytes = 0;
  const stream = generateRecords({
    seed: 'bench',
    tenantId: 'bench-tenant',
    type,
    from,
    to,
    ratesPerHour: { [type]: RATE_PER_HOUR },
  });
  for (const record of stream) {
    bytes += Buffer.byteLength(JSON.stringify(record));
    records += 1;
    if (records >= count) break;
    if (records % 250_000 === 0) {
      console.log(`  ${type}: ${records.toLocaleString('en-US')} records, peak RSS ${peakRssMiB().toFixed(0)} MiB`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `${type}: ${records.toLocaleString('en-US')} records in ${seconds.toFixed(1)} s = ` +
      `${Math.round(records / seconds).toLocaleString('en-US')} records/s, ` +
      `${(bytes / 1024 / 1024 / seconds).toFixed(1)} MiB/s of JSON (${(bytes / records).toFixed(0)} B/record), ` +
      `peak RSS ${peakRssMiB().toFixed(0)} MiB (was ${startRss.toFixed(0)} MiB before)`,
  );
}
