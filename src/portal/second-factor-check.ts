import type { Request } from 'express';
import { verifyBackupCode } from '../auth/backup-codes.js';
import { verifyTotp } from '../auth/totp.js';
import { openSecret } from '../crypto/secret-box.js';
import type { User } from '../store/users-store.js';
import { totpSecretContext, type PortalServices } from './portal-services.js';
import { queueCodeReusedNotice } from './routes/security-notices.js';

/** How a second factor was proven. */
export type SecondFactorMethod = 'totp' | 'backup-code';

/** The code as typed, without spaces or dashes (`123 456`, `abcd-efgh`). */
export function normalizeSecondFactorCode(raw: string): string {
  return raw.replace(/[\s-]/g, '');
}

/** True when a normalized code has the shape of a TOTP code (six digits); anything else is tried as a backup code. */
export function isTotpShaped(code: string): boolean {
  return /^\d{6}$/.test(code);
}

/**
 * Checks a second-factor code of an enrolled user: six digits as TOTP (one use per time step, stored atomically, so
 * of two concurrent uses only one passes; a replay is audited as `2fa.totp.replay`), anything else as a backup code
 * (consumed on success, audited as `2fa.backup-code.used`). Returns how the factor was proven, or undefined.
 * Counting a failure against the lockout is the caller's business.
 *
 * @example
 * const method = await checkSecondFactor(services, req, tenant.id, user, formField(req, 'code', 64));
 * if (method === undefined) await services.throttle.recordFailure(attempt, policy, 'second-factor');
 */
export async function checkSecondFactor(
  services: PortalServices,
  req: Request,
  tenantId: string,
  user: User,
  raw: string,
): Promise<SecondFactorMethod | undefined> {
  const { controlPlane, keyring } = services.deps;
  if (user.totp === undefined) return undefined;
  const code = normalizeSecondFactorCode(raw);
  const actor = { type: 'user' as const, id: user.id };
  if (isTotpShaped(code)) {
    const secret = openSecret(keyring, user.totp.sealedSecret, totpSecretContext(tenantId, user.id));
    const result = verifyTotp(secret, code, { now: services.now(), lastUsedStep: user.totp.lastUsedStep });
    let replayedStep: number | undefined;
    if (result.valid) {
      if (await controlPlane.users.recordTotpStep(tenantId, user.id, result.step)) return 'totp';
      replayedStep = result.step;
    } else if (result.reason === 'replay') replayedStep = result.step;
    if (replayedStep !== undefined) {
      await services.audit(req, tenantId, { actor, action: '2fa.totp.replay', outcome: 'denied', details: { step: replayedStep } });
      await queueCodeReusedNotice(services, req, tenantId, user, replayedStep);
    }
    return undefined;
  }
  const match = await verifyBackupCode(user.backupCodeHashes, code);
  if (match === undefined || !(await controlPlane.users.removeBackupCode(tenantId, user.id, match.hash))) return undefined;
  await services.audit(req, tenantId, { actor, action: '2fa.backup-code.used', outcome: 'success', details: { remaining: user.backupCodeHashes.length - 1 } });
  return 'backup-code';
}
