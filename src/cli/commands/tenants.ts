import { parseArgs } from 'node:util';
import { issueOperatorPasswordReset } from '../../portal/operator-password-reset.js';
import { issueOwnerActivation, type OwnerActivationLink } from '../../portal/owner-activation.js';
import type { ControlPlane } from '../../store/control-plane.js';
import { oneTenantId } from '../command-arguments.js';
import type { CliCommand } from '../cli-command.js';
import type { CliServices } from '../cli-services.js';

function ownerActivationLink(services: CliServices, controlPlane: ControlPlane, tenantId: string): Promise<OwnerActivationLink> {
  const { publicUrl, defaultTenant } = services.config;
  return issueOwnerActivation({ controlPlane, tenantId, publicUrl, defaultTenant, now: services.io.now() });
}

const create: CliCommand = {
  name: 'tenant create',
  usage: 'tenant create <id> [--name <display name>] [--password-only]',
  summary: "create a tenant and print its owner's one-time activation link;\n2FA is required unless --password-only",
  async run(args, services) {
    const { io } = services;
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { name: { type: 'string' }, 'password-only': { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    const id = oneTenantId(positionals);
    const cp = await services.controlPlane();
    const tenant = await cp.tenants.create({ id, displayName: values.name ?? id }, io.now());
    await cp.audit.append(id, { actor: { type: 'cli', id: 'cli' }, action: 'tenant.created', outcome: 'success', target: id });
    // Every portal user administers the archive: two-factor authentication is required from the start (ASVS 4.3.1).
    const requireTwoFactor = values['password-only'] !== true;
    await cp.security.setRequireTwoFactor(id, requireTwoFactor, 'cli', io.now());
    await cp.audit.append(id, {
      actor: { type: 'cli', id: 'cli' },
      action: 'policy.two-factor.changed',
      outcome: 'success',
      details: { required: requireTwoFactor, via: 'tenant create' },
    });
    io.stdout(
      `created tenant ${tenant.id} (${tenant.displayName}); two-factor authentication is ${requireTwoFactor ? 'required (the owner sets it up at the first sign-in)' : 'NOT required (--password-only): turn it on under Security settings'}`,
    );
    const { link, expiresAt } = await ownerActivationLink(services, cp, id);
    io.stdout(`owner activation link (works once, until ${expiresAt.toISOString()}): ${link}`);
    io.stdout(`next: retention tenant set ${tenant.id} --target sftp --host ... --fingerprint SHA256:... --private-key-file ...`);
    return 0;
  },
};

const activationLink: CliCommand = {
  name: 'tenant activation-link',
  usage: 'tenant activation-link <id>',
  summary: 'a new owner activation link (while the tenant has no owner)',
  async run(args, services) {
    const { positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true });
    const id = oneTenantId(positionals);
    const { link, expiresAt } = await ownerActivationLink(services, await services.controlPlane(), id);
    services.io.stdout(`owner activation link (works once, until ${expiresAt.toISOString()}; earlier links no longer work): ${link}`);
    return 0;
  },
};

const passwordResetLink: CliCommand = {
  name: 'tenant password-reset-link',
  usage: 'tenant password-reset-link <id> [--email <address>] [--reset-two-factor]',
  summary:
    'a one-time password reset link (1 hour) for the owner, or the user with --email, to hand over yourself;\n--reset-two-factor also turns off their 2FA (lost authenticator and backup codes)',
  async run(args, services) {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { email: { type: 'string' }, 'reset-two-factor': { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    const id = oneTenantId(positionals);
    const { publicUrl, defaultTenant } = services.config;
    const issued = await issueOperatorPasswordReset({
      controlPlane: await services.controlPlane(),
      tenantId: id,
      email: values.email,
      resetTwoFactor: values['reset-two-factor'] === true,
      publicUrl,
      defaultTenant,
      now: services.io.now(),
    });
    if (issued.twoFactorReset)
      services.io.stdout(`two-factor authentication of ${issued.email} is off; they set it up again at the next sign-in if the tenant requires it`);
    services.io.stdout(
      `password reset link for ${issued.email} (${issued.role}; works once, until ${issued.expiresAt.toISOString()}; earlier reset links no longer work; give it to them on a channel you trust): ${issued.link}`,
    );
    return 0;
  },
};

const list: CliCommand = {
  name: 'tenant list',
  usage: 'tenant list',
  summary: 'list tenants',
  async run(_args, services) {
    const cp = await services.controlPlane();
    for (const tenant of await cp.tenants.list()) services.io.stdout(`${tenant.id}\t${tenant.status}\t${tenant.displayName}`);
    return 0;
  },
};

/** `retention tenant create | activation-link | password-reset-link | list`. */
export const TENANT_COMMANDS: readonly CliCommand[] = [create, activationLink, passwordResetLink, list];
