import { deserialize, serialize, type Document } from 'bson';

/** Opcodes of the MongoDB wire protocol used here. */
export const OpCode = { OP_REPLY: 1, OP_QUERY: 2004, OP_COMPRESSED: 2012, OP_MSG: 2013 } as const;

const HEADER_LENGTH = 16;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;

/** How request documents are decoded: numbers promoted to JS numbers (Longs only when they fit), ObjectId/Date kept. */
const DESERIALIZE_OPTIONS = { promoteValues: true, promoteLongs: true, promoteBuffers: false, bsonRegExp: false } as const;

/** A decoded client message. */
export type WireRequest =
  | { kind: 'msg'; requestId: number; command: Document; moreToCome: boolean }
  | { kind: 'query'; requestId: number; namespace: string; command: Document }
  | { kind: 'unsupported'; requestId: number; opCode: number };

/**
 * Splits a TCP byte stream into whole wire messages (each prefixed by its int32 length) without copying the
 * stream more than once.
 */
export class MessageFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds received bytes; returns the messages now complete. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    while (this.buffered >= 4) {
      const head = this.chunks[0] as Buffer;
      const length = head.length >= 4 ? head.readInt32LE(0) : Buffer.concat(this.chunks).readInt32LE(0);
      if (length < HEADER_LENGTH) throw new Error(`invalid wire message length ${length}`);
      if (this.buffered < length) break;
      const all = this.chunks.length === 1 ? head : Buffer.concat(this.chunks);
      messages.push(all.subarray(0, length));
      const rest = all.subarray(length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return messages;
  }
}

function readCString(buffer: Buffer, offset: number): { value: string; next: number } {
  const end = buffer.indexOf(0, offset);
  if (end < 0) throw new Error('unterminated cstring in wire message');
  return { value: buffer.toString('utf8', offset, end), next: end + 1 };
}

function readDocument(buffer: Buffer, offset: number): { document: Document; next: number } {
  const size = buffer.readInt32LE(offset);
  const document = deserialize(buffer.subarray(offset, offset + size), DESERIALIZE_OPTIONS);
  return { document, next: offset + size };
}

function parseOpMsg(message: Buffer, requestId: number): WireRequest {
  const flags = message.readUInt32LE(HEADER_LENGTH);
  const end = message.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
  let offset = HEADER_LENGTH + 4;
  let body: Document | undefined;
  const sequences: Array<{ identifier: string; documents: Document[] }> = [];
  while (offset < end) {
    const sectionKind = message.readUInt8(offset);
    offset += 1;
    if (sectionKind === 0) {
      const read = readDocument(message, offset);
      body = read.document;
      offset = read.next;
    } else if (sectionKind === 1) {
      const sectionEnd = offset + message.readInt32LE(offset);
      const identifier = readCString(message, offset + 4);
      const documents: Document[] = [];
      let position = identifier.next;
      while (position < sectionEnd) {
        const read = readDocument(message, position);
        documents.push(read.document);
        position = read.next;
      }
      sequences.push({ identifier: identifier.value, documents });
      offset = sectionEnd;
    } else {
      throw new Error(`unknown OP_MSG section kind ${sectionKind}`);
    }
  }
  if (!body) throw new Error('OP_MSG without a body section');
  for (const sequence of sequences) {
    const existing: unknown = body[sequence.identifier];
    body[sequence.identifier] = Array.isArray(existing) ? [...existing, ...sequence.documents] : sequence.documents;
  }
  return { kind: 'msg', requestId, command: body, moreToCome: (flags & MORE_TO_COME) !== 0 };
}

function parseOpQuery(message: Buffer, requestId: number): WireRequest {
  const namespace = readCString(message, HEADER_LENGTH + 4);
  const { document } = readDocument(message, namespace.next + 8);
  const wrapped: unknown = document.$query ?? document.query;
  const command = wrapped !== null && typeof wrapped === 'object' && !Array.isArray(wrapped) ? (wrapped as Document) : document;
  return { kind: 'query', requestId, namespace: namespace.value, command };
}

/** Decodes one whole message (as returned by {@link MessageFramer}). Throws on malformed input. */
export function parseMessage(message: Buffer): WireRequest {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OpCode.OP_MSG) return parseOpMsg(message, requestId);
  if (opCode === OpCode.OP_QUERY) return parseOpQuery(message, requestId);
  return { kind: 'unsupported', requestId, opCode };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(HEADER_LENGTH);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

function encodeDocument(document: Document): Buffer {
  return Buffer.from(serialize(document, { ignoreUndefined: true, checkKeys: false }));
}

/** An OP_MSG reply: flagBits 0 and one kind-0 section holding `document`. */
export function encodeOpMsgReply(requestId: number, responseTo: number, document: Document): Buffer {
  const body = encodeDocument(document);
  const prefix = Buffer.alloc(5);
  return Buffer.concat([header(HEADER_LENGTH + prefix.length + body.length, requestId, responseTo, OpCode.OP_MSG), prefix, body]);
}

/** An OP_REPLY (legacy) with one document: responseFlags 0, cursorID 0, startingFrom 0, numberReturned 1. */
export function encodeOpReply(requestId: number, responseTo: number, document: Document): Buffer {
  const body = encodeDocument(document);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(1, 16);
  return Buffer.concat([header(HEADER_LENGTH + fields.length + body.length, requestId, responseTo, OpCode.OP_REPLY), fields, body]);
}
