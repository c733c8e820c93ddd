import type { NextFunction, Request, Response } from 'express';
import { principalOf } from '../access/principal.js';
import type { User } from '../store/users-store.js';
import { portalMenu } from './navigation.js';
import { viewFormatIn } from './routes/archive-view-format.js';
import { flash, portalContext } from './portal-context.js';
import type { PortalServices } from './portal-services.js';
import { regenerateSession } from './session-lifecycle.js';

/**
 * How often a signed-in session's last use is written: once a minute, or a tenth of the idle timeout when that is
 * shorter.
 */
export function sessionTouchIntervalMs(sessionIdleMs: number): number {
  return Math.min(60_000, Math.floor(sessionIdleMs / 10));
}

/**
 * Makes the session fit the request: a session of another tenant is replaced by an empty one; a signed-in session
 * past its idle or absolute timeout (ASVS 3.3.2) is ended, as is one whose user is gone or disabled; otherwise the
 * user is loaded into the context with their menu, and the session's last use is recorded. A flash message is handed to the first page that renders (`takeFlash()` in the layout), not lost on a redirect.
 */
export function sessionGuard(services: PortalServices) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const context = portalContext(res);
    const session = req.session;
    if (session.tenantId !== undefined && session.tenantId !== context.tenant.id) await regenerateSession(req);
    req.session.tenantId = context.tenant.id;
    const now = services.now().getTime();
    if (req.session.userId !== undefined) {
      const { userId, signedInAt = 0, lastSeenAt = 0 } = req.session;
      const idle = now - lastSeenAt > services.options.sessionIdleMs;
      const expired = now - signedInAt > services.options.sessionAbsoluteMs;
      // read with the tenant in tenantContext (the same session, so the same user id); a session of another tenant
      // was replaced above, and the lookup is by this tenant too
      const user = (res.locals.sessionUser as User | undefined)?.id === userId ? (res.locals.sessionUser as User) : undefined;
      if (idle || expired || user === undefined || user.status !== 'active') {
        await services.sessionIndex.remove(context.tenant.id, userId, req.sessionID);
        await regenerateSession(req);
        req.session.tenantId = context.tenant.id;
        if (idle || expired) flash(req, 'error', 'Your session has ended. Sign in again.');
      } else {
        // Writing the last use saves the session to Redis: done at most once per touch interval, so a session may
        // end up to that much before its idle timeout, never after it.
        if (now - lastSeenAt >= sessionTouchIntervalMs(services.options.sessionIdleMs)) req.session.lastSeenAt = now;
        context.user = user;
        context.navigation = portalMenu(principalOf(user), req.path);
      }
    }
    // Times on every page in the reader's zone: theirs, else the tenant's (the session's user was loaded above).
    res.locals.fmt = viewFormatIn(context.user?.timeZone ?? context.tenant.timeZone);
    res.locals.takeFlash = () => {
      const message = req.session.flash;
      delete req.session.flash;
      return message;
    };
    next();
  };
}
