import type { NextFunction, Request, Response } from 'express';
import { isAccessRefusal } from '../access/access-errors.js';
import type { PortalContext } from './portal-context.js';
import type { PortalServices } from './portal-services.js';

/** Longest request path kept in the audit log. */
const MAX_AUDITED_PATH = 200;

/**
 * Error middleware, mounted just before the error handler: writes every refused access of a signed-in user to the
 * tenant's audit log as `access.denied` (outcome `denied`, target `<METHOD> <path>`, the answered status and code),
 * then hands the error on unchanged. A refusal is a missing capability or data scope (403) or a record out of scope,
 * of another tenant or unknown (404): who tried to reach what is part of "who saw what" (ASVS 7.2.2). The query string
 * is left out (it may hold searched personal data); a page that does not exist is not a refusal and is not audited.
 * An audit write that fails is logged by the audit service; the user still gets the refusal.
 */
export function auditRefusals(services: PortalServices) {
  return async (err: unknown, req: Request, res: Response, next: NextFunction): Promise<void> => {
    const user = res.headersSent ? undefined : (res.locals.portal as PortalContext | undefined)?.user;
    if (user !== undefined && isAccessRefusal(err)) {
      try {
        await services.audit(req, user.tenantId, {
          actor: { type: 'user', id: user.id },
          action: 'access.denied',
          outcome: 'denied',
          target: `${req.method} ${req.path.slice(0, MAX_AUDITED_PATH)}`,
          details: { status: err.status, code: err.code },
        });
      } catch {
        // Logged by services.audit; answering the refusal matters more than the failed write.
      }
    }
    next(err);
  };
}
