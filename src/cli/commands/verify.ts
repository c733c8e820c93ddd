import { parseArgs } from 'node:util';
import { verifyDrop, type DropVerificationReport } from '../../archive/verify-drop.js';
import { parseHostKeyPin, type HostKeyPin } from '../../delivery/host-key-pin.js';
import { LocalDirectoryTarget } from '../../delivery/local-directory-target.js';
import type { Target } from '../../delivery/target.js';
import { NetworkPolicy } from '../../network/network-policy.js';
import { assertTenantId, TENANT_ID_PATTERN } from '../../tenants/tenant-id.js';
import { onePositional } from '../command-arguments.js';
import type { CliCommand } from '../cli-command.js';
import type { CliServices } from '../cli-services.js';
import { CliUsageError } from '../cli-usage-error.js';

interface VerifyFlags {
  fingerprint?: string;
  'private-key-file'?: string;
  'password-file'?: string;
}

/**
 * The target `verify` reads: a location the operator typed, so neither `ALLOWED_PRIVATE_DESTINATIONS` nor
 * `LOCAL_TARGET_BASE_DIR` limits it (they bind what tenant settings may reach).
 */
function targetForVerify(location: string, values: VerifyFlags, services: CliServices): Target {
  if (!location.startsWith('sftp://')) return new LocalDirectoryTarget({ root: location });
  const url = new URL(location);
  if (!url.username) throw new CliUsageError('an sftp:// location needs a user name: sftp://user@host[:port]/root');
  if (!values.fingerprint) throw new CliUsageError("verifying over SFTP needs --fingerprint SHA256:... (the server's pinned host key)");
  const secret = (path: string | undefined) => (path === undefined ? undefined : services.io.readFile(path).replace(/\r?\n$/, ''));
  const privateKey = secret(values['private-key-file']);
  const password = secret(values['password-file']);
  if (privateKey === undefined && password === undefined) throw new CliUsageError('verifying over SFTP needs --private-key-file or --password-file');
  let pin: HostKeyPin;
  try {
    pin = parseHostKeyPin(values.fingerprint);
  } catch (err) {
    throw new CliUsageError(`--fingerprint: ${err instanceof Error ? err.message : String(err)}`);
  }
  return services.sftpTarget({
    host: url.hostname,
    port: url.port ? Number(url.port) : 22,
    username: decodeURIComponent(url.username),
    hostKeyFingerprint: pin.fingerprint,
    ...(pin.type !== undefined ? { hostKeyType: pin.type } : {}),
    root: decodeURIComponent(url.pathname) || '/',
    network: NetworkPolicy.allowingEverything(),
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(password !== undefined ? { password } : {}),
  });
}

const verify: CliCommand = {
  name: 'verify',
  usage: `verify <directory | sftp://user@host[:port]/root> [--tenant <id>]
       [--fingerprint SHA256:...] [--private-key-file F | --password-file F]`,
  summary: 'recompute every checksum, walk the manifest chain, print a verdict',
  async run(args, services) {
    const { io } = services;
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        tenant: { type: 'string' },
        fingerprint: { type: 'string' },
        'private-key-file': { type: 'string' },
        'password-file': { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const location = onePositional(positionals, 'drop location (a directory or sftp://user@host/root)');
    const target = targetForVerify(location, values, services);
    let tenants: string[];
    if (values.tenant !== undefined) tenants = [assertTenantId(values.tenant)];
    else {
      tenants = (await target.list('')).filter((e) => e.type === 'directory' && TENANT_ID_PATTERN.test(e.name)).map((e) => e.name);
      if (tenants.length === 0) throw new CliUsageError(`no tenant directories found in ${location}; pass --tenant <id>`);
    }
    let failed = false;
    const reports: DropVerificationReport[] = [];
    for (const tenantId of tenants) {
      const report = await verifyDrop(target, tenantId);
      reports.push(report);
      failed ||= report.verdict !== 'ok';
      if (values.json) continue;
      io.stdout(`${tenantId}: ${report.manifests.length} manifest(s) in the chain, ${report.filesChecked} file(s) checked`);
      for (const problem of report.problems) io.stdout(`  ${problem.severity.toUpperCase()} ${problem.code} ${problem.path}: ${problem.message}`);
      io.stdout(`${tenantId}: verdict ${report.verdict.toUpperCase()}`);
    }
    if (values.json) io.stdout(JSON.stringify(reports, null, 2));
    return failed ? 1 : 0;
  },
};

/** `retention verify`: check a drop from a directory or over SFTP. */
export const VERIFY_COMMANDS: readonly CliCommand[] = [verify];
