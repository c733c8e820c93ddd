import type { Config } from '../config.js';
import { resolveLocalTargetDirectory } from '../delivery/local-target-base.js';
import { RetentionError, type ErrorCode } from '../errors.js';
import { archiveUriRefusal } from '../network/mongodb-uri-destinations.js';
import { DESTINATION_NOT_ALLOWED, NetworkPolicy, type HostResolver } from '../network/network-policy.js';
import type { SourceSettings, TargetSettings } from './retention-settings.js';

/**
 * Where tenant settings may steer the shared worker, as the operator configured it. Built once per process by its
 * composition root and handed to the source and target factories, the settings pages and the CLI.
 */
export interface DestinationPolicy {
  /** Network destinations (http source, SFTP target, own archive MongoDB, the portal's connection test): public unless allowlisted. */
  network: NetworkPolicy;
  /** `LOCAL_TARGET_BASE_DIR`: local-directory targets must lie below it; `undefined` refuses every local target. */
  localTargetBaseDir: string | undefined;
}

/**
 * The destination policy of the configuration (`ALLOWED_PRIVATE_DESTINATIONS`, `LOCAL_TARGET_BASE_DIR`).
 *
 * @example
 * const destinations = destinationPolicyFromConfig(loadConfig());
 */
export function destinationPolicyFromConfig(
  config: Pick<Config, 'allowedPrivateDestinations' | 'localTargetBaseDir'>,
  options: { resolve?: HostResolver } = {},
): DestinationPolicy {
  return {
    network: new NetworkPolicy({ allowlist: config.allowedPrivateDestinations, ...(options.resolve ? { resolve: options.resolve } : {}) }),
    localTargetBaseDir: config.localTargetBaseDir,
  };
}

/** A destination of the settings that the policy refuses, by the settings field that names it. */
export interface DestinationProblem {
  field: 'source.baseUrl' | 'target.host' | 'target.directory' | 'archiveMongoUri';
  /** `ERR_DESTINATION_NOT_ALLOWED`, `ERR_LOCAL_TARGET_DISABLED` or `ERR_LOCAL_TARGET_OUTSIDE_BASE`. */
  code: ErrorCode;
  message: string;
}

async function refusalOf(check: () => Promise<unknown>, codes: readonly string[]): Promise<RetentionError | undefined> {
  try {
    await check();
    return undefined;
  } catch (err) {
    if (err instanceof RetentionError && codes.includes(err.code)) return err;
    // A name that does not resolve here is not refused: the worker resolves and checks it again when it connects.
    if (err instanceof RetentionError) throw err;
    return undefined;
  }
}

/** Secrets of the settings that name destinations, opened: the settings keep them sealed. */
export interface OpenedDestinationSecrets {
  /** The plain text of `archiveMongoUri`, when the settings hold one. */
  archiveMongoUri?: string;
}

/**
 * The destinations of `settings` the policy refuses, checked as a save checks them: the http source's host, the
 * SFTP host and every host of the tenant's own archive MongoDB URI (seed list, `mongodb+srv://` name, `proxyHost`;
 * passed opened in `secrets`) are resolved and every address checked (a name that does not resolve now passes, since
 * the worker checks again at every connection), and a local directory must lie in `LOCAL_TARGET_BASE_DIR` by its real
 * path. No message quotes the archive URI or its credentials, only the host refused.
 *
 * @example
 * const problems = await findDestinationProblems(destinations, settings, { archiveMongoUri: openedUri });
 * if (problems.length > 0) return refuse(problems);
 */
export async function findDestinationProblems(
  policy: DestinationPolicy,
  settings: { source: SourceSettings; target: TargetSettings },
  secrets: OpenedDestinationSecrets = {},
): Promise<DestinationProblem[]> {
  const { source, target } = settings;
  const checks: Promise<DestinationProblem | undefined>[] = [];
  const add = (field: DestinationProblem['field'], check: () => Promise<unknown>, codes: readonly string[]) =>
    checks.push(refusalOf(check, codes).then((err) => (err === undefined ? undefined : { field, code: err.code, message: err.message })));
  if (source.kind === 'http') add('source.baseUrl', () => policy.network.resolve('export API', new URL(source.baseUrl).hostname), [DESTINATION_NOT_ALLOWED]);
  if (target.kind === 'sftp') add('target.host', () => policy.network.resolve('SFTP server', target.host), [DESTINATION_NOT_ALLOWED]);
  if (target.kind === 'local') {
    add('target.directory', () => resolveLocalTargetDirectory(policy.localTargetBaseDir, target.directory), [
      'ERR_LOCAL_TARGET_DISABLED',
      'ERR_LOCAL_TARGET_OUTSIDE_BASE',
    ]);
  }
  const archiveUri = secrets.archiveMongoUri;
  if (archiveUri !== undefined) {
    add(
      'archiveMongoUri',
      async () => {
        const refusal = await archiveUriRefusal(policy.network, archiveUri);
        if (refusal) throw refusal;
      },
      [DESTINATION_NOT_ALLOWED],
    );
  }
  return (await Promise.all(checks)).filter((problem): problem is DestinationProblem => problem !== undefined);
}
