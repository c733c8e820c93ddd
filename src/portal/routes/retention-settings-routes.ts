import { Router, type Response } from 'express';
import type { AuditActor } from '../../audit/audit-entry.js';
import { RetentionError } from '../../errors.js';
import { NetworkPolicy } from '../../network/network-policy.js';
import type { DestinationPolicy } from '../../tenants/destination-policy.js';
import { createRetentionSettingsService, type SaveRetentionOutcome } from '../../tenants/retention-settings-service.js';
import { authorizedPrincipal } from '../access-gates.js';
import { auditClient, flash, portalContext, signedInUser } from '../portal-context.js';
import type { PortalServices } from '../portal-services.js';
import { retentionAlertsRoutes } from './retention-alerts-routes.js';
import { connectionTestAnswer, connectionTestedEvent, readConnectionTest, testSftpConnection } from './retention-connection-test.js';
import { REBUILD_UNAVAILABLE } from './retention-rebuild-view.js';
import { readRetentionForm, stateFromForm, stateFromSettings } from './retention-settings-form.js';
import { retentionPageRenderer } from './retention-settings-page.js';

const userActor = (res: Response): AuditActor => ({ type: 'user', id: signedInUser(res).id });

/** The notice after a save: what was saved, whether the schedule followed, and what became of the archive's rebuild. */
function savedNotice(outcome: Extract<SaveRetentionOutcome, { status: 'saved' }>): { kind: 'success' | 'error'; text: string } {
  const { saved, schedule, rebuild, changes } = outcome;
  const note = `The retention settings were saved (version ${saved.version}).${schedule === 'not synced' ? '' : schedule === 'removed' ? ' The schedule is paused.' : ' The schedule was updated.'}`;
  const moved = 'The archive now lives in another database';
  if (rebuild === undefined) {
    const later = saved.value.mode !== 'online' && (changes.archiveMongoUri === 'replaced' || changes.archiveMongoUri === 'removed');
    return {
      kind: 'success',
      text: later
        ? `${note} The archive database changes once the mode is online: the worker then finds it empty and rebuilds the online archive from your drops by itself (or press "Rebuild the online archive from the drops" in the Online archive section).`
        : note,
    };
  }
  if (rebuild.status === 'unavailable') {
    return {
      kind: 'error',
      text: `${note} ${moved}, which stays empty until the online archive is rebuilt from the drops; this portal cannot queue that rebuild, so ask your Retention operator to run it.`,
    };
  }
  if (rebuild.status === 'failed') {
    return {
      kind: 'error',
      text: `${note} ${moved}, but its rebuild could not be queued: press "Rebuild the online archive from the drops" in the Online archive section to try again.`,
    };
  }
  const queued =
    rebuild.status === 'queued' ? 'a rebuild of the online archive from your drops was queued' : 'the rebuild already queued will load it from your drops';
  return { kind: 'success', text: `${note} ${moved}, so ${queued}; the portal shows the records again as they are loaded.` };
}

/**
 * The retention settings page, for users who may configure retention: mode, data types, schedule (with its next
 * five run times in the tenant's time zone), source, target and file options. Secrets are never printed back: a
 * stored one shows as "(set)" and is replaced only when a new value is typed. Saving goes through the
 * retention-settings service (validated, sealed, checked against the destination policy, stored over the version the
 * form was opened at, audited `settings.changed`, the job scheduler kept in step); its problems are shown next to
 * each field. The online-archive section sets how long the MongoDB archive keeps each type and the tenant's own
 * archive MongoDB URI (sealed; the audit log says only whether it was replaced, kept or removed). Replacing or
 * removing that URI in online mode queues a rebuild of the archive from the drops; "Rebuild" queues one on demand
 * (`archive.rebuild-requested`), and the section shows whether one is queued or running and how the last one ended.
 * The target's host key is pinned by fingerprint ("SHA256:…" or a pasted `ssh-keygen -l` line), with an optional type
 * and an optional second pin for a key rotation (see `host-key-pin-form.ts`). "Test connection" lists every host key
 * the SFTP server has, marks the pinned ones and, when nothing is pinned, suggests one to pin.
 * Both stay within the operator's destination policy: a source URL, SFTP host or host of the archive MongoDB URI
 * that is or resolves to a non-public address, or a local directory outside `LOCAL_TARGET_BASE_DIR`, is refused at
 * save (an error on its field, nothing saved, audited without the URI), and *Test connection* refuses such a host
 * before connecting (400), so it cannot probe the operator's network. The page's Alerts section has a form and a
 * route of its own (`retention-alerts-routes.ts`, mounted here).
 */
export function retentionSettingsRoutes(services: PortalServices): Router {
  const router = Router();
  const { controlPlane, exportQueues, importQueues } = services.deps;
  const destinations: DestinationPolicy = services.deps.destinations ?? { network: new NetworkPolicy(), localTargetBaseDir: undefined };
  const retentionSettings = createRetentionSettingsService({
    settings: controlPlane.settings,
    audit: controlPlane.audit,
    keyring: () => services.deps.keyring,
    destinations,
    runs: exportQueues === undefined ? undefined : () => exportQueues.runs,
    importQueues: importQueues === undefined ? undefined : () => importQueues,
    now: services.now,
  });
  const render = retentionPageRenderer(services);

  router.get('/settings/retention', async (_req, res) => {
    authorizedPrincipal(res, 'settings.retention.view');
    const stored = await controlPlane.settings.getRetention(portalContext(res).tenant.id);
    await render(res, stateFromSettings(stored), stored);
  });

  router.post('/settings/retention', async (req, res) => {
    authorizedPrincipal(res, 'settings.retention.update');
    const tenantId = portalContext(res).tenant.id;
    const stored = await controlPlane.settings.getRetention(tenantId);
    const state = stateFromForm(req, stored);
    const form = readRetentionForm(req, state);
    const outcome = await retentionSettings.save(tenantId, form.submission, userActor(res), {
      expectedVersion: form.expectedVersion,
      client: auditClient(req),
    });
    if (outcome.status === 'refused') {
      const problems = form.typedSecrets ? ['Nothing was saved, and secrets you typed are never shown again: type them again before saving.'] : [];
      return await render(res, state, stored, { fieldProblems: outcome.problems, problems }, 400);
    }
    if (outcome.status === 'stale') {
      if (outcome.expectedVersion === undefined)
        throw new RetentionError('ERR_SETTINGS_CONFLICT', 'The form did not say which version of the settings it changes; reload the page and try again.');
      return await render(
        res,
        state,
        stored,
        { problems: ['Somebody else changed these settings since you opened the page. Reload the page, then make your change again.'] },
        409,
      );
    }
    if (outcome.rebuild?.status === 'failed')
      services.deps.logger.error({ tenantId, err: outcome.rebuild.error }, 'could not queue the archive rebuild after the archive URI changed');
    const notice = savedNotice(outcome);
    flash(req, notice.kind, notice.text);
    res.redirect(303, '/settings/retention');
  });

  router.post('/settings/retention/rebuild', async (req, res) => {
    authorizedPrincipal(res, 'settings.retention.rebuild');
    const tenantId = portalContext(res).tenant.id;
    const stored = await controlPlane.settings.getRetention(tenantId);
    if (importQueues === undefined) return await render(res, stateFromSettings(stored), stored, { problems: [REBUILD_UNAVAILABLE] }, 503);
    if (stored?.value.mode !== 'online') {
      return await render(
        res,
        stateFromSettings(stored),
        stored,
        { problems: ['There is no online archive to rebuild: the saved mode is offline. Switch the mode to online and save first.'] },
        409,
      );
    }
    const request = await retentionSettings.requestRebuild(tenantId, userActor(res), 'button', { client: auditClient(req) });
    flash(
      req,
      'success',
      request.queued
        ? 'A rebuild of the online archive was queued: it empties the archive and loads every drop again, oldest first. The state is shown in the Online archive section.'
        : 'A rebuild of the online archive is already queued; it was not queued twice.',
    );
    res.redirect(303, '/settings/retention');
  });

  router.post('/settings/retention/test-connection', async (req, res) => {
    authorizedPrincipal(res, 'settings.retention.test-connection');
    const tenantId = portalContext(res).tenant.id;
    const stored = await controlPlane.settings.getRetention(tenantId);
    const state = stateFromForm(req, stored);
    const request = readConnectionTest(state.values, stored?.value);
    if (!request.ok) return await render(res, state, stored, { fieldProblems: request.fieldProblems, problems: request.problems }, 400);
    const connection = await testSftpConnection(request, destinations.network);
    await services.audit(req, tenantId, { actor: userActor(res), ...connectionTestedEvent(connection) });
    const { status, fieldProblems } = connectionTestAnswer(connection);
    await render(res, state, stored, { connection, ...(fieldProblems !== undefined ? { fieldProblems } : {}) }, status);
  });

  router.use(retentionAlertsRoutes(services));
  return router;
}
