import { Router } from 'express';
import { formatCefEntry } from '../../audit/cef.js';
import { requireCapability } from '../access-gates.js';
import { portalContext } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';

const ACTION_FILTER = /^[a-z0-9][a-z0-9.-]{0,63}$/;

/**
 * The tenant's audit log, for users who may read it: the latest entries (filter by action in the URL, so a filtered
 * view can be bookmarked) and the same as CEF lines for a SIEM (`/audit.cef`).
 */
export function auditRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;
  router.use(['/audit', '/audit.cef'], requireCapability('read-audit'));

  const actionOf = (query: unknown): string | undefined => {
    const value = typeof query === 'object' && query !== null ? (query as Record<string, unknown>).action : undefined;
    return typeof value === 'string' && ACTION_FILTER.test(value) ? value : undefined;
  };

  router.get('/audit', async (req, res) => {
    const action = actionOf(req.query);
    const entries = await controlPlane.audit.list(portalContext(res).tenant.id, { limit: 200, ...(action !== undefined ? { action } : {}) });
    res.render('audit', { title: 'Audit log', entries, action: action ?? '' });
  });

  router.get('/audit.cef', async (req, res) => {
    const action = actionOf(req.query);
    const entries = await controlPlane.audit.list(portalContext(res).tenant.id, { limit: 1000, ...(action !== undefined ? { action } : {}) });
    const lines = entries.map((entry) => formatCefEntry(entry, { version: services.options.version, host: req.hostname }));
    res.type('text/plain').set('Content-Disposition', 'attachment; filename="audit.cef"').send(`${lines.join('\n')}\n`);
  });

  return router;
}
