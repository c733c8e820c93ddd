import { Router } from 'express';
import { RetentionError } from '../../errors.js';
import { OUTBOX_STATUSES, type OutboxCursor, type OutboxStatus } from '../../mail/mail-outbox-store.js';
import { requireRoute } from '../access-gates.js';
import { portalContext } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';

/** Messages on one page of the outbox. */
export const OUTBOX_PAGE_SIZE = 50;

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)~([0-9a-f]{32})$/;

/** The `after` parameter of an outbox page (`<createdAt ISO>~<outbox id>`), or `ERR_QUERY_INVALID`. */
function parseCursor(value: unknown): OutboxCursor | undefined {
  if (value === undefined || value === '') return undefined;
  const match = typeof value === 'string' ? CURSOR.exec(value) : null;
  const createdAt = match?.[1] === undefined ? undefined : new Date(match[1]);
  if (match === null || createdAt === undefined || Number.isNaN(createdAt.getTime()) || match[2] === undefined) {
    throw new RetentionError('ERR_QUERY_INVALID', 'after: not a position in the outbox; use the "Older messages" link.');
  }
  return { createdAt, id: match[2] };
}

const pageLink = (status: OutboxStatus | undefined, after?: string): string => {
  const query = new URLSearchParams();
  if (status !== undefined) query.set('status', status);
  if (after !== undefined) query.set('after', after);
  const text = query.toString();
  return text === '' ? '/outbox' : `/outbox?${text}`;
};

/**
 * The tenant's outbox (`GET /outbox`, for users who may manage users, through its `ROUTE_PERMISSIONS` entry): every
 * message queued, being sent, sent or failed, newest first, 50 a page, with recipient, template, subject, status,
 * attempts, last error and times; filtered by status (`?status=failed`, kept in the URL), paged with a keyset cursor
 * (`?after=`). Never a body or a link: those stay sealed in the outbox until sent, then are gone.
 */
export function outboxRoutes(services: PortalServices): Router {
  const router = Router();

  router.get('/outbox', requireRoute('users.outbox'), async (req, res) => {
    const { tenant } = portalContext(res);
    const statusText = typeof req.query.status === 'string' ? req.query.status : '';
    if (statusText !== '' && !(OUTBOX_STATUSES as readonly string[]).includes(statusText)) {
      throw new RetentionError('ERR_QUERY_INVALID', `status: one of ${OUTBOX_STATUSES.join(', ')}, or none for every message.`);
    }
    const status = statusText === '' ? undefined : (statusText as OutboxStatus);
    const after = parseCursor(req.query.after);
    const store = services.deps.outboxMessages;
    const found =
      store === undefined
        ? []
        : await store.listByTenant(tenant.id, {
            limit: OUTBOX_PAGE_SIZE + 1,
            ...(status !== undefined ? { status } : {}),
            ...(after !== undefined ? { after } : {}),
          });
    const messages = found.slice(0, OUTBOX_PAGE_SIZE);
    const last = messages.at(-1);
    res.render('outbox', {
      title: 'Outbox',
      messages,
      status,
      filters: [undefined, ...OUTBOX_STATUSES].map((value) => ({ label: value ?? 'all', href: pageLink(value), current: value === status })),
      olderLink: found.length > OUTBOX_PAGE_SIZE && last ? pageLink(status, `${last.createdAt.toISOString()}~${last.id}`) : undefined,
      newestLink: after === undefined ? undefined : pageLink(status),
      mailConfigured: services.mail !== undefined,
    });
  });

  return router;
}
