import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SFTP_TEST_BASE_DIR, descendantPids, findFreePort, signalPid, waitForBanner, waitGone } from '../sftp-server.js';
import { missingPeerBinary, type SftpPeer, type SftpPeerDefinition, type SftpRefusalZones } from './sftp-peer.js';

const execFileAsync = promisify(execFile);

/** Where Debian's `proftpd-core` installs the daemon. */
export const PROFTPD_PATH = '/usr/sbin/proftpd';
/** mod_sftp, which Debian ships in `proftpd-mod-crypto` (`dpkg -L proftpd-mod-crypto`). */
export const PROFTPD_MOD_SFTP_PATH = '/usr/lib/proftpd/mod_sftp.so';
const PROFTPD_PACKAGES = ['proftpd-core', 'proftpd-mod-crypto'] as const;

/** The login of every ProFTPD test server: a virtual user of its own `AuthUserFile` (uid 0), key login only. */
const PROFTPD_USER = 'retention';

export interface ProftpdServerOptions {
  /** Offer `posix-rename@openssh.com`; `false` sets `SFTPExtensions -posixRename`. Default: true (ProFTPD's default). */
  posixRename?: boolean;
  /**
   * `AllowOverwrite`: whether a client may write over an existing file. ProFTPD's built-in default is off; Debian's
   * shipped configuration and most installations turn it on. Default: true.
   */
  allowOverwrite?: boolean;
  /** How long to wait for the SSH banner after spawning proftpd. Default: 10000 ms. */
  startTimeoutMs?: number;
}

/** A ProFTPD + mod_sftp server of the peer matrix. */
export interface ProftpdServer extends SftpPeer {
  privateKey: string;
  password: undefined;
  refusalZones: SftpRefusalZones;
  /** The configuration file it runs with. */
  configPath: string;
}

/** `<Limit RNTO>` and `<Limit WRITE>` zones; ProFTPD answers a refused request with status 3, "Permission denied". */
const REFUSAL_ZONES: SftpRefusalZones = { renameRefused: 'rename-refused-', readOnly: 'read-only-' };

/**
 * Starts ProFTPD with mod_sftp in the foreground (`proftpd --nodaemon -c <conf>`) on a free port of 127.0.0.1, with its
 * own scoreboard, pid and log files in a fresh directory below {@link SFTP_TEST_BASE_DIR}, a fresh ed25519 host key, and
 * one virtual user (`AuthOrder mod_auth_file.c`) that logs in with an ed25519 key (`SFTPAuthorizedUserKeys`, RFC 4716)
 * and is jailed in the root (`DefaultRoot ~`): the client sees the root as `/`. Resolves once the port answers with an
 * SSH banner. Requires Debian's `proftpd-core` and `proftpd-mod-crypto`, and root.
 *
 * @example
 * const server = await startProftpdServer({ posixRename: false });
 * const target = new SftpTarget({ host: server.host, port: server.port, username: server.username,
 *   privateKey: server.privateKey, hostKeyFingerprint: server.hostKeyFingerprint, root: '/', network });
 * await server.destroy();
 */
export async function startProftpdServer(options: ProftpdServerOptions = {}): Promise<ProftpdServer> {
  if (!existsSync(PROFTPD_PATH)) throw missingPeerBinary('ProFTPD', PROFTPD_PATH, PROFTPD_PACKAGES);
  if (!existsSync(PROFTPD_MOD_SFTP_PATH)) throw missingPeerBinary("ProFTPD's mod_sftp", PROFTPD_MOD_SFTP_PATH, PROFTPD_PACKAGES);
  await mkdir(SFTP_TEST_BASE_DIR, { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(SFTP_TEST_BASE_DIR, 'proftpd-'));
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;

  const hostKeyPath = join(dir, 'host_ed25519_key');
  const clientKeyPath = join(dir, 'client_ed25519_key');
  await Promise.all([
    execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'retention-test-proftpd-host', '-f', hostKeyPath]),
    execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'retention-test-client', '-f', clientKeyPath]),
  ]);
  const clientPrivateKey = await readFile(clientKeyPath, 'utf8');
  const fingerprintLine = (await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKeyPath}.pub`])).stdout;
  const hostKeyFingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(fingerprintLine)?.[0];
  if (!hostKeyFingerprint) throw new Error(`could not read the host key fingerprint from "${fingerprintLine}"`);
  const authorizedKeys = join(dir, 'authorized_keys.rfc4716');
  await writeFile(authorizedKeys, (await execFileAsync('ssh-keygen', ['-e', '-f', `${clientKeyPath}.pub`])).stdout, { mode: 0o644 });

  const root = join(dir, 'root');
  await mkdir(root, { mode: 0o755 });
  const passwdPath = join(dir, 'passwd');
  const groupPath = join(dir, 'group');
  await writeFile(passwdPath, `${PROFTPD_USER}:*:0:0:Retention test:${root}:/usr/sbin/nologin\n`, { mode: 0o600 });
  await writeFile(groupPath, `${PROFTPD_USER}:x:0:\n`, { mode: 0o600 });

  const configPath = join(dir, 'proftpd.conf');
  const systemLog = join(dir, 'system.log');
  const sftpLog = join(dir, 'sftp.log');
  let port = await findFreePort();
  const writeConfig = () =>
    writeFile(
      configPath,
      [
        'ServerType standalone',
        'ServerName "retention-test-proftpd"',
        'DefaultAddress 127.0.0.1',
        'SocketBindTight on',
        `Port ${port}`,
        'User root',
        'Group root',
        `PidFile ${join(dir, 'proftpd.pid')}`,
        `ScoreboardFile ${join(dir, 'proftpd.scoreboard')}`,
        `SystemLog ${systemLog}`,
        'TransferLog none',
        'WtmpLog off',
        'UseReverseDNS off',
        'DelayEngine off',
        'ControlsEngine off',
        'ModulePath /usr/lib/proftpd',
        'LoadModule mod_sftp.c',
        'AuthOrder mod_auth_file.c',
        `AuthUserFile ${passwdPath}`,
        `AuthGroupFile ${groupPath}`,
        'RequireValidShell off',
        'UseFtpUsers off',
        'RootLogin on',
        'DefaultRoot ~',
        'Umask 022',
        `AllowOverwrite ${options.allowOverwrite === false ? 'off' : 'on'}`,
        'SFTPEngine on',
        `SFTPLog ${sftpLog}`,
        `SFTPHostKey ${hostKeyPath}`,
        `SFTPAuthorizedUserKeys file:${authorizedKeys}`,
        'SFTPAuthMethods publickey',
        ...(options.posixRename === false ? ['SFTPExtensions -posixRename'] : []),
        `<Directory ${root}/${REFUSAL_ZONES.renameRefused}*>`,
        '  <Limit RNTO>',
        '    DenyAll',
        '  </Limit>',
        '</Directory>',
        `<Directory ${root}/${REFUSAL_ZONES.readOnly}*>`,
        '  <Limit WRITE>',
        '    DenyAll',
        '  </Limit>',
        '</Directory>',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  await writeConfig();

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderrTail = '';
  const fileTail = (path: string): string => {
    try {
      return readFileSync(path, 'utf8').slice(-3000);
    } catch {
      return '';
    }
  };
  const logTail = (): string => [stderrTail, fileTail(systemLog), fileTail(sftpLog)].filter(Boolean).join('\n');

  const start = async (): Promise<void> => {
    stderrTail = '';
    // Started in its directory: reapStaleSftpServers() knows the retitled process by its working directory.
    const proc = spawn(PROFTPD_PATH, ['--nodaemon', '-c', configPath], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
    });
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      await waitForBanner(port, proc, startTimeoutMs);
    } catch (err) {
      await halt('SIGKILL');
      throw new Error(`proftpd on 127.0.0.1:${port} did not start: ${(err as Error).message}\n${logTail()}`);
    }
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const pids = descendantPids(proc.pid ?? -1);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    for (const pid of pids) signalPid(pid, signal);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    await waitGone(pids, 2_000);
    for (const pid of [proc.pid ?? -1, ...pids]) signalPid(pid, 'SIGKILL');
    await exited;
    child = undefined;
  };

  const destroy = async (): Promise<void> => {
    await halt('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };

  for (let attempt = 1; ; attempt += 1) {
    try {
      await start();
      break;
    } catch (err) {
      const portTaken = /Address already in use|unable to bind/i.test((err as Error).message);
      if (!portTaken || attempt >= 3) {
        await destroy();
        throw err;
      }
      port = await findFreePort();
      await writeConfig();
    }
  }

  return {
    host: '127.0.0.1',
    port,
    username: PROFTPD_USER,
    privateKey: clientPrivateKey,
    password: undefined,
    hostKeyFingerprint,
    localRoot: root,
    clientRoot: '/',
    refusalZones: REFUSAL_ZONES,
    configPath,
    logTail,
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM');
      await start();
    },
    destroy,
  };
}

/**
 * The ProFTPD peers: mod_sftp 1.1 of ProFTPD 1.3.8 as configured by its users: with `posix-rename@openssh.com` (the
 * default), without it (`SFTPExtensions -posixRename`, as on servers that hide OpenSSH extensions), and with
 * `AllowOverwrite off` (ProFTPD's built-in default, kept by installations that forbid overwrites).
 */
export const PROFTPD_PEERS: readonly SftpPeerDefinition[] = [
  {
    id: 'proftpd',
    description: 'ProFTPD mod_sftp, posix-rename offered, AllowOverwrite on',
    debianPackages: PROFTPD_PACKAGES,
    traits: { posixRename: true, allowOverwrite: true, refusalZones: true },
    start: () => startProftpdServer(),
  },
  {
    id: 'proftpd-no-posix-rename',
    description: 'ProFTPD mod_sftp, SFTPExtensions -posixRename, AllowOverwrite on',
    debianPackages: PROFTPD_PACKAGES,
    traits: { posixRename: false, allowOverwrite: true, refusalZones: true },
    start: () => startProftpdServer({ posixRename: false }),
  },
  {
    id: 'proftpd-allow-overwrite-off',
    description: 'ProFTPD mod_sftp, posix-rename offered, AllowOverwrite off',
    debianPackages: PROFTPD_PACKAGES,
    traits: { posixRename: true, allowOverwrite: false, refusalZones: true },
    start: () => startProftpdServer({ allowOverwrite: false }),
  },
];
