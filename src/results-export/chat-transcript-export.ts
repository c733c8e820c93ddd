import { maskRecord, type MaskingOptions } from '../masking/mask-record.js';
import type { ChatMessage } from '../records/chat-schema.js';
import type { ArchivedChat, ArchivedChatMessage } from '../store/archive/archive-documents.js';
import type { ArchiveAccess } from '../store/archive/archive-scope.js';
import type { ArchiveStore } from '../store/archive/archive-store.js';
import { csvLine } from './csv-encoding.js';
import { chatMessageCells, exportCells } from './export-columns.js';
import type { ExportFormat } from './result-exports-store.js';

/** What {@link writeChatWithTranscript} needs: where to read the transcript and where the text goes. */
export interface ChatTranscriptExportContext {
  archive: Pick<ArchiveStore, 'chatTranscript'>;
  /** The export's own access (its tenant, the chats scope only). */
  access: ArchiveAccess;
  format: ExportFormat;
  masking: MaskingOptions;
  /** Messages read per transcript page. */
  pageSize: number;
  /** Appends text to the file; it enforces the size limit (and throws past it). */
  write: (text: string) => Promise<void>;
  /** Called after each transcript page with the number of messages it wrote. */
  onMessages: (count: number) => Promise<void>;
}

/** A transcript message as the file holds it: masked like the portal's transcript page, without the `chatId`. */
function exportedMessage(message: ArchivedChatMessage, masking: MaskingOptions): ChatMessage {
  const { chatId: _chatId, ...shown } = maskRecord('chat-messages', message, masking);
  return shown;
}

/**
 * Writes one chat with its transcript, read page by page in `seq` order with the keyset cursor, so a long
 * transcript is never held whole in memory. `chat` is already masked (see `maskRecord('chats', …)`); each message
 * is masked the same way the portal masks transcript messages.
 *
 * - JSON: the chat's record with a `messages` array at the end (the canonical chat record's shape), preceded by
 *   the array separator of record number `index`;
 * - CSV: one row per message, the chat's columns first (repeated on every row), then the message's; a chat without
 *   messages gets one row with empty message columns.
 *
 * Returns how many messages it wrote.
 *
 * @example
 * const messages = await writeChatWithTranscript(maskRecord('chats', chat, masking), index, { archive, access, format: 'csv', masking, pageSize: 200, write, onMessages });
 */
export async function writeChatWithTranscript(chat: ArchivedChat, index: number, context: ChatTranscriptExportContext): Promise<number> {
  const json = context.format === 'json';
  const chatCells = json ? [] : exportCells('chats', chat);
  if (json) {
    const record = JSON.stringify(chat);
    await context.write(`${index === 0 ? '\n' : ',\n'}${record.slice(0, -1)}${record.length > 2 ? ',' : ''}"messages":[`);
  }
  let written = 0;
  let cursor: string | undefined;
  let more = chat.messageCount !== 0;
  while (more) {
    const page = await context.archive.chatTranscript(context.access, chat.id, { limit: context.pageSize, ...(cursor !== undefined ? { cursor } : {}) });
    const messages = page.items.map((message) => exportedMessage(message, context.masking));
    if (messages.length > 0) {
      const text = json
        ? messages.map((message, i) => `${written + i === 0 ? '\n' : ',\n'}${JSON.stringify(message)}`).join('')
        : messages.map((message) => csvLine(chatMessageCells(chat, message, chatCells))).join('');
      await context.write(text);
      written += messages.length;
      await context.onMessages(messages.length);
    }
    cursor = page.nextCursor ?? undefined;
    more = cursor !== undefined;
  }
  if (json) await context.write(written === 0 ? ']}' : '\n]}');
  else if (written === 0) await context.write(csvLine(chatMessageCells(chat, undefined, chatCells)));
  return written;
}
