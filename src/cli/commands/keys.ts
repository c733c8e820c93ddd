import { needsReseal, resealSecret } from '../../crypto/secret-box.js';
import { SSO_SECRET_FIELDS, ssoSecretContext, type SsoSettingsRecord } from '../../sso/sso-settings-store.js';
import { parseRetentionSettings } from '../../tenants/retention-settings.js';
import { RETENTION_SECRET_FIELDS, replaceRetentionSecret, retentionSecretOf, secretContext } from '../../tenants/secret-context.js';
import type { CliCommand } from '../cli-command.js';
import { CliUsageError } from '../cli-usage-error.js';

const rotate: CliCommand = {
  name: 'keys rotate',
  usage: 'keys rotate',
  summary: 're-seal every stored secret (retention settings, single sign-on credentials) under RETENTION_ACTIVE_KEY_ID',
  async run(args, services) {
    if (args.length !== 0) throw new CliUsageError('expected: keys rotate');
    const keyring = services.keyring();
    const cp = await services.controlPlane();
    let resealed = 0;
    for (const tenantId of await cp.settings.listRetentionTenants()) {
      const current = await cp.settings.requireRetention(tenantId);
      const value = structuredClone(current.value) as Record<string, unknown>;
      let changed = 0;
      for (const { field } of RETENTION_SECRET_FIELDS) {
        const sealed = retentionSecretOf(value, field);
        if (sealed === undefined || !needsReseal(keyring, sealed)) continue;
        replaceRetentionSecret(value, field, resealSecret(keyring, sealed, secretContext(tenantId, field)));
        changed += 1;
      }
      if (changed > 0) {
        await cp.settings.putRetention(tenantId, parseRetentionSettings(value), { actor: 'cli', expectedVersion: current.version, now: services.io.now() });
        await cp.audit.append(tenantId, {
          actor: { type: 'cli', id: 'cli' },
          action: 'keys.rotated',
          outcome: 'success',
          details: { secrets: changed, keyId: keyring.activeKeyId, settings: 'retention' },
        });
        resealed += changed;
      }
    }
    for (const tenantId of await cp.sso.listTenants()) {
      const current = await cp.sso.get(tenantId);
      if (current === undefined) continue;
      const { version, updatedAt: _updatedAt, updatedBy: _updatedBy, ...record } = current;
      const resealedRecord: SsoSettingsRecord = { ...record };
      let changed = 0;
      for (const field of SSO_SECRET_FIELDS) {
        const sealed = record[field];
        if (sealed === undefined || !needsReseal(keyring, sealed)) continue;
        resealedRecord[field] = resealSecret(keyring, sealed, ssoSecretContext(tenantId, field));
        changed += 1;
      }
      if (changed > 0) {
        await cp.sso.put(tenantId, resealedRecord, { actor: 'cli', expectedVersion: version, now: services.io.now() });
        await cp.audit.append(tenantId, {
          actor: { type: 'cli', id: 'cli' },
          action: 'keys.rotated',
          outcome: 'success',
          details: { secrets: changed, keyId: keyring.activeKeyId, settings: 'sso' },
        });
        resealed += changed;
      }
    }
    services.io.stdout(
      `re-sealed ${resealed} secret(s) under key "${keyring.activeKeyId}"; old keys can be removed from RETENTION_MASTER_KEYS once every process runs with this ring`,
    );
    return 0;
  },
};

/** `retention keys rotate`: re-seal secrets under the active master key. */
export const KEY_COMMANDS: readonly CliCommand[] = [rotate];
