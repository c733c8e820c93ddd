import type { NextFunction, Request, Response } from 'express';
import { isAllowed, parseIpAllowlist } from '../auth/ip-allowlist.js';
import { RetentionError } from '../errors.js';
import type { PortalServices } from './portal-services.js';
import { resolveTenantId } from './tenant-host.js';

/**
 * Resolves the request's tenant from its host name (404 for no or an unknown/disabled tenant), loads the tenant's
 * security settings and the session's user with it (one round trip) and applies its IP allowlist to every request (ASVS 4.1.5: an address that cannot be read is
 * refused whenever a list is set). A refused sign-in attempt is audited.
 */
export function tenantContext(services: PortalServices) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const { controlPlane } = services.deps;
    const tenantId = resolveTenantId(req.hostname, services.options);
    const loaded = tenantId === undefined ? undefined : await controlPlane.requestContext.load(tenantId, req.session.userId);
    const tenant = loaded?.tenant;
    if (loaded === undefined || tenant === undefined || tenant.status !== 'active') {
      throw new RetentionError('ERR_TENANT_UNKNOWN', 'There is no Retention portal at this address. Check the link you were given.');
    }
    const { security } = loaded;
    res.locals.portal = { tenant, security };
    // the session's user as read with the tenant, for sessionGuard (which decides whether the session still holds)
    res.locals.sessionUser = loaded.user;
    if (!isAllowed(parseIpAllowlist(security.ipAllowlist), req.ip)) {
      if (req.method === 'POST' && req.path === '/sign-in') {
        await services.audit(req, tenant.id, {
          actor: { type: 'user', id: 'anonymous' },
          action: 'auth.login',
          outcome: 'denied',
          details: { reason: 'ip-allowlist' },
        });
      }
      throw new RetentionError(
        'ERR_IP_NOT_ALLOWED',
        `Access from your network address (${req.ip ?? 'unknown'}) is not allowed for this organisation. Ask an administrator to add it to the IP allowlist.`,
      );
    }
    next();
  };
}
