import { Router } from 'express';
import { hasCapability } from '../../store/users-store.js';
import { signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';

/** The signed-in home page: who you are, what you may do, where to go (the archive pages come later). */
export function homeRoutes(_services: PortalServices): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    const user = signedInUser(res);
    res.render('home', {
      title: 'Home',
      can: {
        manageUsers: hasCapability(user, 'manage-users'),
        configure: hasCapability(user, 'manage-users'),
        readAudit: hasCapability(user, 'read-audit'),
      },
    });
  });
  return router;
}
