import type { Db } from 'mongodb';
import { AlertEventsStore } from '../alerts/alert-events-store.js';
import { AlertSettingsStore } from '../alerts/alert-settings-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { SsoIdentitiesStore } from '../sso/sso-identities-store.js';
import { SsoSettingsStore } from '../sso/sso-settings-store.js';
import { ActivationTokensStore } from '../auth/activation-tokens-store.js';
import { CheckpointsStore } from './checkpoints-store.js';
import { RunsStore } from './runs-store.js';
import { RequestContextStore } from './request-context-store.js';
import { SecuritySettingsStore } from './security-settings-store.js';
import { SettingsStore } from './settings-store.js';
import { TenantsStore } from './tenants-store.js';
import { UsersStore } from './users-store.js';

/** The control-plane stores, built on one database. */
export interface ControlPlane {
  tenants: TenantsStore;
  settings: SettingsStore;
  checkpoints: CheckpointsStore;
  runs: RunsStore;
  audit: AuditLog;
  users: UsersStore;
  security: SecuritySettingsStore;
  activationTokens: ActivationTokensStore;
  /** Who gets the run alerts and how (`settings`, kind `alerts`). */
  alertSettings: AlertSettingsStore;
  /** Alert events waiting for (or listed in) a daily digest. */
  alertEvents: AlertEventsStore;
  /** Single sign-on settings (`settings`, kind `sso`). */
  sso: SsoSettingsStore;
  /** Provider identities linked to administrators. */
  ssoIdentities: SsoIdentitiesStore;
  /** A portal request's tenant, security settings and user, in one round trip. */
  requestContext: RequestContextStore;
}

/** What the control plane takes from the operator's configuration. */
export interface ControlPlaneOptions {
  /** `PASSWORD_MIN_LENGTH_FLOOR`: the lowest minimum password length a tenant may set. Default 12. */
  passwordMinLengthFloor?: number;
}

/** Builds the stores on `db` (the `MONGODB_DATABASE` database). */
export function createControlPlane(db: Db, options: ControlPlaneOptions = {}): ControlPlane {
  const tenants = new TenantsStore(db);
  const users = new UsersStore(db);
  const security = new SecuritySettingsStore(db, options.passwordMinLengthFloor !== undefined ? { minLengthFloor: options.passwordMinLengthFloor } : {});
  return {
    tenants,
    settings: new SettingsStore(db),
    checkpoints: new CheckpointsStore(db),
    runs: new RunsStore(db),
    audit: new AuditLog(db),
    users,
    security,
    activationTokens: new ActivationTokensStore(db),
    alertSettings: new AlertSettingsStore(db),
    alertEvents: new AlertEventsStore(db),
    sso: new SsoSettingsStore(db),
    ssoIdentities: new SsoIdentitiesStore(db),
    requestContext: new RequestContextStore(db, { tenants, security, users }),
  };
}

/** Creates every index the control plane's queries need (idempotent; run at start). */
export async function ensureControlPlaneIndexes(controlPlane: ControlPlane): Promise<void> {
  for (const store of Object.values(controlPlane)) await store.ensureIndexes();
}
