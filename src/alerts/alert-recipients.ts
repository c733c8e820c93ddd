import type { ControlPlane } from '../store/control-plane.js';
import type { AlertDelivery } from './alert-settings.js';

/** Who a tenant's alerts go to now, how, and why: the saved settings, or the default (the owner, each event). */
export interface AlertRecipients {
  recipients: string[];
  delivery: AlertDelivery;
  /** `settings`: saved by the tenant (an empty list: alerts off); `owner`: nothing saved yet, the owner gets them. */
  source: 'settings' | 'owner';
}

/**
 * The tenant's alert recipients: the saved settings when there are any (an empty list means alerts are off), else
 * the owner's address, each event by itself, once the owner is active (an owner not activated yet has chosen no
 * address: nobody is mailed).
 *
 * @example
 * const { recipients, delivery } = await resolveAlertRecipients(controlPlane, 'acme');
 */
export async function resolveAlertRecipients(controlPlane: Pick<ControlPlane, 'alertSettings' | 'users'>, tenantId: string): Promise<AlertRecipients> {
  const saved = await controlPlane.alertSettings.get(tenantId);
  if (saved !== undefined) return { recipients: [...saved.recipients], delivery: saved.delivery, source: 'settings' };
  const owner = await controlPlane.users.findOwner(tenantId);
  return { recipients: owner?.status === 'active' ? [owner.email] : [], delivery: 'each-event', source: 'owner' };
}
