import type { Request, Response } from 'express';
import type { AuditEvent } from '../audit/audit-entry.js';
import type { SecuritySettings } from '../store/security-settings-store.js';
import type { Tenant } from '../store/tenants-store.js';
import type { User } from '../store/users-store.js';
import type { MenuLink } from './navigation.js';

/** What the middleware learned about a request, for the routes and the views. */
export interface PortalContext {
  tenant: Tenant;
  security: SecuritySettings;
  /** The signed-in user (fully signed in: password and, when enrolled, the second factor). */
  user?: User;
  /** The menu of the signed-in user (set with `user`): the layout draws exactly these links, the current one marked. */
  navigation?: MenuLink[];
}

/** The request's {@link PortalContext}; only valid after the tenant middleware ran. */
export function portalContext(res: Response): PortalContext {
  return res.locals.portal as PortalContext;
}

/** The signed-in user; only valid behind `requireUser`. */
export function signedInUser(res: Response): User {
  const user = portalContext(res).user;
  if (user === undefined) throw new Error('signedInUser called on a route without requireUser');
  return user;
}

/** Client facts every audit event carries: source address and user agent (bounded). */
export function auditClient(req: Request): Pick<AuditEvent, 'ip' | 'userAgent'> {
  const userAgent = req.get('user-agent');
  return { ...(req.ip !== undefined ? { ip: req.ip } : {}), ...(userAgent !== undefined ? { userAgent: userAgent.slice(0, 300) } : {}) };
}

/** A form field as a string (absent, repeated or non-string values become ''), bounded in length. */
export function formField(req: Request, name: string, maxLength = 2048): string {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return '';
  const value: unknown = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value.slice(0, maxLength) : '';
}

/** A form field sent as a list of checkboxes. */
export function formList(req: Request, name: string): string[] {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return [];
  const value: unknown = (body as Record<string, unknown>)[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').slice(0, 50) : [];
}

/** Sets a one-time message shown on the next page. */
export function flash(req: Request, kind: 'success' | 'error', message: string): void {
  req.session.flash = { kind, message };
}
