import { Router, type Request, type Response } from 'express';
import type { ActivationPurpose, ActivationTokenRecord } from '../../auth/activation-tokens-store.js';
import { hashPassword } from '../../auth/password-hashing.js';
import { checkPassword } from '../../auth/password-policy.js';
import { RetentionError } from '../../errors.js';
import { normalizeEmail, type User } from '../../store/users-store.js';
import { flash, formField, portalContext } from '../portal-context.js';
import { passwordMeterView } from '../password-meter-view.js';
import type { PortalServices } from '../portal-services.js';
import { saveSession } from '../session-lifecycle.js';
import { sendEmailConfirmation } from './email-confirmation-mail.js';
import { ssoSignInOption } from './sso-sign-in-page.js';

/** The two kinds of one-time links that end in choosing a password. */
const LINKS = {
  'owner-activation': { path: '/activate/:token', title: 'Activate your organisation' },
  invitation: { path: '/invitation/:token', title: 'Accept your invitation' },
} as const;

type LinkPurpose = keyof typeof LINKS;

/**
 * Owner activation (`/activate/<token>`) and invitation acceptance (`/invitation/<token>`): GET shows the form
 * without using the link up (link previewers fetch links too); POST checks the password against the tenant's policy,
 * then consumes the link atomically (one-time) and creates or activates the account. Following an invitation confirms
 * the invitee's address (the link was mailed there); the owner, who types theirs, is mailed a confirmation link.
 * Expired and used links get a page saying to ask for a new one.
 */
export function activationRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane } = services.deps;

  const tokenOf = (req: Request): string => String(req.params.token ?? '');

  const invitedUser = async (tenantId: string, record: ActivationTokenRecord): Promise<User> => {
    const user = await controlPlane.users.findById(tenantId, record.subject);
    if (user === undefined || user.status !== 'invited')
      throw new RetentionError('ERR_ACTIVATION_TOKEN_INVALID', 'this link is not valid or has already been used: ask for a new one');
    return user;
  };

  /** An invitation page offers the tenant's single sign-on; while it is required, it is the only way to accept. */
  const invitationSso = async (purpose: LinkPurpose, tenantId: string): Promise<{ label: string; required: boolean } | undefined> => {
    if (purpose !== 'invitation') return undefined;
    const option = await ssoSignInOption(services, tenantId);
    return option === undefined ? undefined : { label: option.label, required: option.required };
  };

  const showForm = async (
    res: Response,
    purpose: LinkPurpose,
    values: { email: string; displayName: string; fixedEmail: boolean },
    problems: string[],
    status = 200,
  ): Promise<void> => {
    const { tenant, security } = portalContext(res);
    const context = { email: values.email, displayName: values.displayName, tenantId: tenant.id, tenantName: tenant.displayName };
    const strength = passwordMeterView(security.passwordPolicy, context, values.fixedEmail ? {} : { emailField: 'email', nameField: 'displayName' });
    const sso = await invitationSso(purpose, tenant.id);
    res.status(status).render('activate', { title: LINKS[purpose].title, purpose, values, problems, strength, sso });
  };

  for (const purpose of Object.keys(LINKS) as LinkPurpose[]) {
    router.get(LINKS[purpose].path, async (req, res) => {
      const { tenant } = portalContext(res);
      const record = await controlPlane.activationTokens.inspect(tenant.id, tokenOf(req), purpose as ActivationPurpose, services.now());
      if (purpose === 'invitation') {
        const user = await invitedUser(tenant.id, record);
        return showForm(res, purpose, { email: user.email, displayName: user.displayName, fixedEmail: true }, []);
      }
      if ((await controlPlane.users.findOwner(tenant.id)) !== undefined)
        throw new RetentionError('ERR_ACTIVATION_TOKEN_INVALID', 'this link is not valid or has already been used: ask for a new one');
      await showForm(res, purpose, { email: '', displayName: '', fixedEmail: false }, []);
    });

    router.post(LINKS[purpose].path, async (req, res) => {
      const { tenant, security } = portalContext(res);
      const token = tokenOf(req);
      const record = await controlPlane.activationTokens.inspect(tenant.id, token, purpose as ActivationPurpose, services.now());
      const invited = purpose === 'invitation' ? await invitedUser(tenant.id, record) : undefined;
      const displayName = invited?.displayName ?? formField(req, 'displayName', 200).trim();
      let email = invited?.email ?? '';
      const problems: string[] = [];
      if (invited === undefined) {
        try {
          email = normalizeEmail(formField(req, 'email', 320));
        } catch (err) {
          if (!(err instanceof RetentionError)) throw err;
          problems.push(err.message);
        }
        if (displayName === '' || displayName.length > 100) problems.push('Enter your name (1 to 100 characters).');
      }
      const password = formField(req, 'password', 8192);
      const sso = await invitationSso(purpose, tenant.id);
      if (sso?.required === true)
        problems.push(`Your organisation signs in with ${sso.label}: accept the invitation with the "Sign in with ${sso.label}" button.`);
      problems.push(
        ...checkPassword(security.passwordPolicy, password, { email, displayName, tenantId: tenant.id, tenantName: tenant.displayName }).map((p) => p.message),
      );
      const values = { email: email || formField(req, 'email', 320), displayName, fixedEmail: invited !== undefined };
      if (problems.length > 0) return showForm(res, purpose, values, problems, 400);

      const passwordHash = await hashPassword(password);
      await controlPlane.activationTokens.consume(tenant.id, token, purpose as ActivationPurpose, services.now());
      let user: User;
      if (invited !== undefined) {
        if (!(await controlPlane.users.activateInvited(tenant.id, invited.id, passwordHash, services.now()))) {
          throw new RetentionError('ERR_ACTIVATION_TOKEN_INVALID', 'this link is not valid or has already been used: ask for a new one');
        }
        user = invited;
      } else {
        user = await controlPlane.users.create(tenant.id, { email, displayName, role: 'owner', passwordHash }, services.now());
        // The owner typed the address: a link confirms it (an invitee's was confirmed by following the invitation).
        if (services.mail !== undefined) {
          await sendEmailConfirmation(services, req, tenant, user, user.email).catch((err: unknown) => {
            services.deps.logger.error(
              { tenantId: tenant.id, userId: user.id, code: err instanceof RetentionError ? err.code : undefined },
              'could not send the owner an email confirmation',
            );
          });
        }
      }
      await services.audit(req, tenant.id, {
        actor: { type: 'user', id: user.id },
        action: purpose === 'invitation' ? 'user.invitation.accepted' : 'user.owner.activated',
        outcome: 'success',
        target: user.email,
      });
      flash(req, 'success', 'Your account is ready. Sign in with your email address and new password.');
      await saveSession(req);
      res.redirect(303, '/sign-in');
    });
  }
  return router;
}
