import { canRead } from '../../access/permissions.js';
import type { RecordType } from '../../records/record-type.js';
import type { ArchiveStore } from '../../store/archive/archive-store.js';
import type { ArchiveReader } from './archive-reader.js';
import { archiveViewFormat } from './archive-view-format.js';

/**
 * How a page shows a record's reference to another record (a call's or chat's contact, a contact merged into
 * another): a link only when the reader may read that type and the archive holds the record, so every link answers;
 * otherwise the id as text with a note saying why there is no link.
 */
export interface RecordReference {
  id: string;
  href: string | undefined;
  note: string | undefined;
}

/** The note of a reference to a record the archive does not hold (never imported, or purged). */
export const NOT_IN_ARCHIVE_NOTE = 'not in the archive';

const PATHS: Record<RecordType, '/call-logs' | '/chats' | '/contacts'> = { 'call-logs': '/call-logs', chats: '/chats', contacts: '/contacts' };
const NOUNS: Record<RecordType, string> = { 'call-logs': 'call logs', chats: 'chats', contacts: 'contacts' };

/**
 * The {@link RecordReference} of each of `ids` (records of `type`) for this reader, keyed by id, resolved in one
 * read of the archive for the whole page; a type outside the reader's scope is not read at all (its references are
 * plain text, whether or not the archive holds them).
 *
 * @example
 * const contacts = await recordReferences(store, reader, 'contacts', [call.from.contactId, call.to.contactId]);
 */
export async function recordReferences(
  store: ArchiveStore,
  reader: ArchiveReader,
  type: RecordType,
  ids: Iterable<string | undefined>,
): Promise<Record<string, RecordReference>> {
  const wanted = referencedIds(ids);
  if (wanted.length === 0 || !canRead(reader.principal, type)) return referencesFrom(reader, type, wanted, undefined);
  return referencesFrom(reader, type, wanted, await store.existingIds(reader.access, type, wanted));
}

/**
 * The {@link RecordReference} of each of `ids` from what the archive was found to hold (`held`, read beforehand with
 * the reader's access, e.g. by `ArchiveStore.chatView`); a type outside the reader's scope gives plain text whatever
 * `held` says.
 */
export function referencesFrom(
  reader: ArchiveReader,
  type: RecordType,
  ids: Iterable<string | undefined>,
  held: ReadonlySet<string> | undefined,
): Record<string, RecordReference> {
  const references: Record<string, RecordReference> = {};
  const readable = canRead(reader.principal, type);
  for (const id of referencedIds(ids)) {
    references[id] = !readable
      ? { id, href: undefined, note: `you have no access to ${NOUNS[type]}` }
      : held?.has(id) === true
        ? { id, href: archiveViewFormat.link(PATHS[type], id), note: undefined }
        : { id, href: undefined, note: NOT_IN_ARCHIVE_NOTE };
  }
  return references;
}

function referencedIds(ids: Iterable<string | undefined>): string[] {
  return [...new Set([...ids].filter((id): id is string => typeof id === 'string' && id.length > 0))];
}
