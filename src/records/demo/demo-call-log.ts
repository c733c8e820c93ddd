import type { CallLog } from '../call-log-schema.js';
import { DEMO_CALL_NOTES, DEMO_TAGS } from './demo-locales.js';
import { inventPerson, inventPhoneNumber } from './demo-people.js';
import { demoRecordBase, demoUpdateLag, isoAt, referenceDemoContact, withoutUndefined, type DemoRecordContext } from './demo-record-context.js';

type Party = CallLog['from'];
type Agent = CallLog['agents'][number];
type Recording = CallLog['recordings'][number];

const WRAP_UP_CODES = ['resolved', 'follow-up', 'escalated', 'sale', 'no-sale', 'billing-question', 'wrong-number'] as const;
const BYTES_PER_SECOND = 16_000;

function customerParty(context: DemoRecordContext, atMs: number): Party {
  const contact = referenceDemoContact(context, atMs);
  if (contact !== undefined) {
    return { e164: contact.e164, displayName: contact.person.displayName, contactId: contact.id };
  }
  const person = inventPerson(context.random);
  const e164 = inventPhoneNumber(context.random, person.locale);
  return context.random.chance(0.5) ? { e164, displayName: person.displayName } : { e164 };
}

function talkSegments(context: DemoRecordContext, agentCount: number): Agent[] {
  const { random, directory } = context;
  const agents: Agent[] = [];
  for (let index = 0; index < agentCount; index += 1) {
    const staff = random.pick(directory.staff);
    agents.push({
      staffId: staff.staffId,
      name: staff.name,
      talkSec: random.skewed(15, 2400),
      holdSec: random.chance(0.3) ? random.skewed(5, 300) : 0,
      wrapUpSec: random.skewed(0, 180),
    });
  }
  return agents;
}

function recordingOf(context: DemoRecordContext, callId: string, index: number, durationSec: number, atMs: number): Recording {
  const day = isoAt(atMs).slice(0, 10).replaceAll('-', '/');
  const id = `${callId}-r${index + 1}`;
  return {
    id,
    uri: `s3://demo-call-recordings/${context.tenantId}/${day}/${id}.wav`,
    durationSec,
    sizeBytes: durationSec * BYTES_PER_SECOND + 44,
    sha256: context.random.hex(64),
  };
}

/**
 * The demo call log of one slot: direction and outcome mix of a busy contact center, queue waits, agents with
 * talk/hold/wrap-up times, transfers, recordings (references only) and, for a share, a later update.
 */
export function buildDemoCallLog(context: DemoRecordContext): CallLog {
  const { random, directory } = context;
  const createdAtMs = context.updatedAtMs - demoUpdateLag(context);
  const endedAtMs = createdAtMs - random.int(0, 2000);
  const base = demoRecordBase(context, 'call-logs', createdAtMs);

  const direction = random.weighted({ inbound: 65, outbound: 30, internal: 5 });
  const outcome =
    direction === 'inbound'
      ? random.weighted({ answered: 78, abandoned: 10, missed: 5, voicemail: 5, failed: 2 })
      : direction === 'outbound'
        ? random.weighted({ answered: 60, missed: 25, voicemail: 10, failed: 5 })
        : random.weighted({ answered: 90, missed: 10 });
  const initiation =
    direction === 'inbound'
      ? random.weighted({ inbound: 85, transfer: 10, callback: 5 })
      : direction === 'outbound'
        ? random.weighted({ outbound: 80, callback: 12, api: 8 })
        : random.weighted({ outbound: 70, transfer: 30 });

  const queueOf = random.pick(directory.queues);
  const queue =
    direction === 'inbound' && random.chance(0.92)
      ? { id: queueOf.id, name: queueOf.name, waitSec: outcome === 'failed' ? 0 : random.skewed(0, 900) }
      : undefined;
  const waitSec = queue?.waitSec ?? 0;
  const ringSec = outcome === 'failed' ? 0 : random.int(2, 30);

  let from: Party;
  let to: Party;
  let callerId: string;
  const caller = random.pick(directory.staff);
  if (direction === 'inbound') {
    from = customerParty(context, endedAtMs);
    to = { e164: queueOf.e164, displayName: queueOf.name };
    callerId = from.e164;
  } else if (direction === 'outbound') {
    from = { e164: caller.e164, displayName: caller.name, staffId: caller.staffId };
    to = customerParty(context, endedAtMs);
    callerId = queueOf.e164;
  } else {
    const callee = random.pick(directory.staff);
    from = { e164: caller.e164, displayName: caller.name, staffId: caller.staffId };
    to = { e164: callee.e164, displayName: callee.name, staffId: callee.staffId };
    callerId = caller.e164;
  }

  const transferred = outcome === 'answered' && direction === 'inbound' && random.chance(0.08);
  const agents = outcome === 'answered' ? talkSegments(context, transferred ? 2 : 1) : [];
  const firstAgent = agents[0];
  if (firstAgent !== undefined && direction !== 'inbound') {
    const staff = direction === 'outbound' ? from : to;
    firstAgent.staffId = staff.staffId ?? firstAgent.staffId;
    firstAgent.name = staff.displayName ?? firstAgent.name;
  }
  const talkSec = agents.reduce((sum, agent) => sum + agent.talkSec + agent.holdSec, 0);
  const voicemailSec = outcome === 'voicemail' ? random.int(8, 120) : 0;
  const durationSec = outcome === 'failed' ? random.int(0, 3) : waitSec + ringSec + talkSec + voicemailSec;
  const startedAtMs = endedAtMs - durationSec * 1000;
  const answeredAtMs = outcome === 'answered' ? startedAtMs + (waitSec + ringSec) * 1000 : undefined;

  const transfer = transferred
    ? random.chance(0.7)
      ? { toQueueId: random.pick(directory.queues).id, type: random.pick(['warm', 'blind'] as const) }
      : { toE164: random.pick(directory.staff).e164, type: random.pick(['warm', 'conference'] as const) }
    : undefined;

  const disconnectReason =
    outcome === 'answered'
      ? transfer?.type === 'blind'
        ? 'transferred'
        : random.weighted({ 'customer-disconnect': 55, 'agent-disconnect': 40, 'third-party-disconnect': 5 })
      : outcome === 'abandoned'
        ? 'customer-disconnect'
        : outcome === 'missed'
          ? 'expired'
          : outcome === 'voicemail'
            ? direction === 'inbound'
              ? 'customer-disconnect'
              : 'agent-disconnect'
            : random.weighted({ 'telecom-problem': 80, 'flow-disconnect': 20 });

  const recordings: Recording[] = [];
  if (outcome === 'answered' && random.chance(0.85)) {
    agents.forEach((agent, index) => {
      recordings.push(recordingOf(context, base.id, index, agent.talkSec + agent.holdSec, startedAtMs));
    });
  } else if (outcome === 'voicemail') {
    recordings.push(recordingOf(context, base.id, 0, voicemailSec, startedAtMs));
  }

  const tags = new Set<string>();
  if (random.chance(0.35)) tags.add(random.pick(DEMO_TAGS));
  const updatedLater = createdAtMs < context.updatedAtMs;
  if (updatedLater) tags.add('follow-up');
  const wantsNote = (outcome === 'answered' && random.chance(0.25)) || updatedLater;
  const notes = wantsNote ? random.pick(DEMO_CALL_NOTES).replace('{n}', String(random.int(10_000, 99_999))) : undefined;
  const wrapUpCode = outcome === 'answered' && random.chance(0.8) ? random.pick(WRAP_UP_CODES) : undefined;

  return withoutUndefined<CallLog>({
    ...base,
    attributes: queue !== undefined && random.chance(0.3) ? { contactFlow: 'Main IVR', ivrPath: 'menu>2>1' } : {},
    direction,
    initiation,
    from,
    to,
    callerId,
    queue,
    agents,
    startedAt: isoAt(startedAtMs),
    answeredAt: answeredAtMs === undefined ? undefined : isoAt(answeredAtMs),
    endedAt: isoAt(endedAtMs),
    durationSec,
    ringSec,
    outcome,
    disconnectReason,
    transfer,
    wrapUpCode,
    recordings,
    tags: [...tags],
    notes,
  });
}
