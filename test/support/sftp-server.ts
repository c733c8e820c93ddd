import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Where Debian's `openssh-server` installs the daemon. */
export const SSHD_PATH = '/usr/sbin/sshd';

/**
 * Parent of every test server's temporary directory. Not under `/tmp`: sshd refuses a `ChrootDirectory` with any
 * path component that is group- or world-writable, and `/tmp` is 1777. `/run` is root-owned and cleared at boot.
 */
export const SFTP_TEST_BASE_DIR = '/run/retention-sftp-test';

/** Connection facts of a running test SFTP server; what a client needs, nothing that controls the process. */
export interface SftpServerFacts {
  host: string;
  port: number;
  username: string;
  /** Local directory that holds what the client uploads (see {@link SftpServerOptions.password} for the layout). */
  root: string;
  /** The client's ed25519 private key, OpenSSH PEM, authorized for `username`. */
  clientPrivateKey: string;
  /** The server's host-key fingerprint as `ssh-keygen -l` prints it: `SHA256:<base64 without padding>`. */
  hostKeyFingerprint: string;
}

/** A private OpenSSH `sshd` serving SFTP only, on a free loopback port, with its own throwaway keys and config. */
export interface SftpServer extends SftpServerFacts {
  /** The host public key line (`ssh-ed25519 AAAA... comment`, or `ssh-rsa AAAA...` with `hostKeyType: 'rsa'`). */
  hostPublicKey: string;
  /** Every host key the server has: the first one, then those of `extraHostKeyTypes`, with their key types. */
  hostKeys: Array<{ type: 'ssh-ed25519' | 'ssh-rsa' | 'ecdsa-sha2-nistp256'; fingerprint: string }>;
  /**
   * How the client names {@link SftpServerFacts.root}: `/` (chrooted, the default), `/home` (password mode's jail),
   * or `root` itself (an external `sftpServerPath`, which runs without a chroot).
   */
  clientRoot: string;
  /** The password of `username` when started with `{ password: true }`, else `undefined`. */
  password: string | undefined;
  /** True while the listening daemon is alive. */
  readonly running: boolean;
  /** The last few KiB sshd wrote to stderr since it was (re)started (`LogLevel INFO`), for failure messages. */
  logTail(): string;
  /** SIGTERM to the daemon and its open sessions; resolves once they are gone. */
  stop(): Promise<void>;
  /** SIGKILL to the daemon and its open sessions at once (a crash); resolves once they are gone. */
  kill(): Promise<void>;
  /** SIGSTOP to the daemon and its sessions: connections stay open but nothing answers (a hung server). */
  pause(): void;
  /** SIGCONT after {@link SftpServer.pause}. */
  resume(): void;
  /** Stops if needed, then starts again on the same port with the same host key and files. */
  restart(): Promise<void>;
  /** Stops, removes the temporary directory and, in password mode, the throwaway user. */
  destroy(): Promise<void>;
}

export interface SftpServerOptions {
  /**
   * Log in as a throwaway local user (`rsftp<hex>`, created with `useradd`, removed by `destroy()`) that accepts the
   * client key and a random password, instead of `root` with the key only. sshd requires the chroot directory to be
   * owned by root, so in this mode the client's `/` is a jail and `root` is its subdirectory `/home`, owned by the
   * user and the client's starting directory: relative paths land in `root` as in the default mode (with
   * `sftpServerPath` there is no jail: see there). Default: false (user `root`, `root` is the client's `/`).
   */
  password?: boolean;
  /**
   * Type of the server's only host key. `'rsa'` (2048 bits, quick to generate) makes an RSA-only server, whose pin is
   * the RSA key's fingerprint (sshd then offers `rsa-sha2-512` and `rsa-sha2-256`). Default: `'ed25519'`.
   */
  hostKeyType?: 'ed25519' | 'rsa';
  /**
   * More host keys of other types, for a server with several (most servers have ed25519, ECDSA and RSA keys, and
   * offer the one the client prefers). Default: none.
   */
  extraHostKeyTypes?: ReadonlyArray<'ed25519' | 'rsa' | 'ecdsa'>;
  /**
   * Serve SFTP with this external binary (`Subsystem sftp <path>`, e.g. Debian's `/usr/libexec/gesftpserver` or
   * `/usr/lib/openssh/sftp-server`) instead of sshd's `internal-sftp`. The binary is not inside a jail, so this mode
   * has no chroot: the client logs in as a throwaway user (`rsftp<hex>`, shell `/bin/sh`, removed by `destroy()`)
   * who owns `root` and names it by its absolute path ({@link SftpServer.clientRoot}). With `password`, that user's
   * password is given too. Default: `internal-sftp`, chrooted.
   */
  sftpServerPath?: string;
  /** How long to wait for the SSH banner after spawning sshd. Default: 10000 ms. */
  startTimeoutMs?: number;
}

/**
 * Starts a private `sshd -D -e -f <config>` on 127.0.0.1 that only speaks SFTP (`ForceCommand internal-sftp`,
 * chrooted to a fresh temporary directory, or `ForceCommand <sftpServerPath>`), with a fresh host key (ed25519, or
 * RSA) and ed25519 client key. Resolves once the port answers with an SSH banner. Requires `/usr/sbin/sshd`
 * (`apt-get install openssh-server`) and root.
 *
 * @example
 * const server = await startSftpServer();
 * const client = new SftpClient();
 * await client.connect({ host: server.host, port: server.port, username: server.username,
 *   privateKey: server.clientPrivateKey });
 * await server.destroy();
 */
export async function startSftpServer(options: SftpServerOptions = {}): Promise<SftpServer> {
  if (!existsSync(SSHD_PATH)) {
    throw new Error(`${SSHD_PATH} is missing: install OpenSSH with "apt-get install openssh-server" to run SFTP tests`);
  }
  const { sftpServerPath } = options;
  if (sftpServerPath !== undefined && !existsSync(sftpServerPath)) {
    throw new Error(`${sftpServerPath} is missing: install the Debian package that ships this SFTP server binary`);
  }
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await mkdir(SFTP_TEST_BASE_DIR, { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(SFTP_TEST_BASE_DIR, 'server-'));
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;

  const hostKeyType = options.hostKeyType ?? 'ed25519';
  const hostKeyPath = join(dir, `ssh_host_${hostKeyType}_key`);
  const clientKeyPath = join(dir, 'client_ed25519_key');
  const hostKeyBits = hostKeyType === 'rsa' ? ['-b', '2048'] : [];
  await execFileAsync('ssh-keygen', ['-q', '-t', hostKeyType, ...hostKeyBits, '-N', '', '-C', 'retention-test-host', '-f', hostKeyPath]);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'retention-test-client', '-f', clientKeyPath]);
  const hostPublicKey = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim();
  const clientPrivateKey = await readFile(clientKeyPath, 'utf8');
  const fingerprintOf = async (path: string): Promise<string> => {
    const line = (await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`])).stdout;
    const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(line)?.[0];
    if (!fingerprint) throw new Error(`could not read the host key fingerprint from "${line}"`);
    return fingerprint;
  };
  const keyTypeName = { ed25519: 'ssh-ed25519', rsa: 'ssh-rsa', ecdsa: 'ecdsa-sha2-nistp256' } as const;
  const hostKeyFingerprint = await fingerprintOf(hostKeyPath);
  const hostKeyPaths = [hostKeyPath];
  const hostKeys: SftpServer['hostKeys'] = [{ type: keyTypeName[hostKeyType], fingerprint: hostKeyFingerprint }];
  for (const extra of options.extraHostKeyTypes ?? []) {
    if (extra === hostKeyType) continue;
    const path = join(dir, `ssh_host_${extra}_key`);
    await execFileAsync('ssh-keygen', ['-q', '-t', extra, ...(extra === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', 'retention-test-host', '-f', path]);
    hostKeyPaths.push(path);
    hostKeys.push({ type: keyTypeName[extra], fingerprint: await fingerprintOf(path) });
  }

  const authorizedKeys = join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, await readFile(`${clientKeyPath}.pub`, 'utf8'), { mode: 0o644 });

  const throwawayUser = options.password === true || sftpServerPath !== undefined;
  let username = 'root';
  let password: string | undefined;
  let root: string;
  let startDir = '/';
  let chrootDir: string | undefined;
  if (throwawayUser) {
    username = `rsftp${randomBytes(4).toString('hex')}`;
    const userPassword = randomBytes(18).toString('base64url');
    if (options.password) password = userPassword;
    await writeFile(join(dir, 'user'), username);
    // An external SFTP server is started through the user's shell; root's may source slow rc files (bash does under sshd).
    const shell = sftpServerPath === undefined ? '/usr/sbin/nologin' : '/bin/sh';
    await execFileAsync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', shell, username]);
    await new Promise<void>((resolve, reject) => {
      const child = execFile('chpasswd', (err) => (err ? reject(err) : resolve()));
      child.stdin?.end(`${username}:${userPassword}\n`);
    });
    if (sftpServerPath === undefined) {
      chrootDir = join(dir, 'jail');
      root = join(chrootDir, 'home');
      startDir = '/home';
      await mkdir(root, { recursive: true });
      await chmod(chrootDir, 0o755);
    } else {
      root = join(dir, 'root');
      await mkdir(root, { mode: 0o755 });
    }
    const uid = Number((await execFileAsync('id', ['-u', username])).stdout.trim());
    const gid = Number((await execFileAsync('id', ['-g', username])).stdout.trim());
    await chown(root, uid, gid);
  } else {
    root = join(dir, 'root');
    chrootDir = root;
    await mkdir(root, { mode: 0o755 });
  }
  const clientRoot = sftpServerPath === undefined ? startDir : root;
  const sftpLines =
    chrootDir === undefined
      ? [`Subsystem sftp ${sftpServerPath}`, `ForceCommand ${sftpServerPath}`]
      : ['Subsystem sftp internal-sftp', `ChrootDirectory ${chrootDir}`, `ForceCommand internal-sftp -d ${startDir}`];

  let port = await findFreePort();
  const pidFile = join(dir, 'sshd.pid');
  const configPath = join(dir, 'sshd_config');
  const writeConfig = () =>
    writeFile(
      configPath,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        ...hostKeyPaths.map((path) => `HostKey ${path}`),
        `PidFile ${pidFile}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        'PubkeyAuthentication yes',
        `PasswordAuthentication ${options.password ? 'yes' : 'no'}`,
        'KbdInteractiveAuthentication no',
        'PermitEmptyPasswords no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        `AllowUsers ${username}`,
        ...sftpLines,
        'AllowTcpForwarding no',
        'AllowAgentForwarding no',
        'X11Forwarding no',
        'PermitTTY no',
        'PrintMotd no',
        'MaxStartups 100',
        'LoginGraceTime 30',
        'LogLevel INFO',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  await writeConfig();

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderrTail = '';

  const start = async (): Promise<void> => {
    stderrTail = '';
    const proc = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
    });
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      await waitForBanner(port, proc, startTimeoutMs);
    } catch (err) {
      await signalTree(proc, 'SIGKILL');
      throw new Error(`sshd on 127.0.0.1:${port} did not start: ${(err as Error).message}\n${stderrTail}`);
    }
  };

  const isRunning = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const pids = descendantPids(proc.pid ?? -1);
    if (isRunning()) proc.kill(signal);
    for (const pid of pids) signalPid(pid, signal);
    if (signal !== 'SIGKILL') for (const pid of [proc.pid ?? -1, ...pids]) signalPid(pid, 'SIGCONT');
    await exited;
    await waitGone(pids, signal === 'SIGKILL' ? 2_000 : 5_000);
    for (const pid of pids) signalPid(pid, 'SIGKILL');
    child = undefined;
  };

  const destroy = async (): Promise<void> => {
    await halt('SIGTERM');
    if (throwawayUser) await execFileAsync('userdel', [username]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };

  for (let attempt = 1; ; attempt += 1) {
    try {
      await start();
      break;
    } catch (err) {
      const portTaken = /Address already in use|Bind to port/i.test((err as Error).message);
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
    username,
    root,
    clientRoot,
    clientPrivateKey,
    hostKeyFingerprint,
    hostPublicKey,
    hostKeys,
    password,
    get running() {
      return isRunning();
    },
    logTail: () => stderrTail,
    stop: () => halt('SIGTERM'),
    pause() {
      if (child?.pid) for (const pid of [child.pid, ...descendantPids(child.pid)]) signalPid(pid, 'SIGSTOP');
    },
    resume() {
      if (child?.pid) for (const pid of [child.pid, ...descendantPids(child.pid)]) signalPid(pid, 'SIGCONT');
    },
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM');
      await start();
    },
    destroy,
  };
}

/**
 * Pid files a test server may leave in its directory: sshd's, and ProFTPD's (`sftp-peers/proftpd-server.ts`). A pid
 * counts as the server's only while its command line names the directory (sshd's `-f <dir>/sshd_config`) or its
 * working directory is it (ProFTPD retitles its process, so it is started in its directory instead).
 */
const SERVER_PID_FILES = ['sshd.pid', 'proftpd.pid'];

/**
 * Removes what test servers of dead test runs left behind (a run killed before its teardown): stops their sshd (or
 * ProFTPD), deletes their throwaway user and their directory. Servers whose owning process is alive are left alone, so
 * concurrent test runs on one machine do not disturb each other. Returns how many were reaped.
 *
 * @example
 * await reapStaleSftpServers(); // in a global setup, before starting a server
 */
export async function reapStaleSftpServers(): Promise<number> {
  let reaped = 0;
  const names = existsSync(SFTP_TEST_BASE_DIR) ? readdirSync(SFTP_TEST_BASE_DIR) : [];
  for (const name of names) {
    const dir = join(SFTP_TEST_BASE_DIR, name);
    const owner = Number(await readFile(join(dir, 'owner.pid'), 'utf8').catch(() => '0'));
    if (owner > 0 && readProcStat(owner) !== undefined) continue;
    const age = Date.now() - ((await stat(dir).catch(() => undefined))?.mtimeMs ?? 0);
    if (owner === 0 && age < 60_000) continue;
    for (const pidFile of SERVER_PID_FILES) {
      const serverPid = Number(await readFile(join(dir, pidFile), 'utf8').catch(() => '0'));
      if (!(serverPid > 0)) continue;
      const cmdline = await readFile(`/proc/${serverPid}/cmdline`, 'utf8').catch(() => '');
      const cwd = await readlink(`/proc/${serverPid}/cwd`).catch(() => '');
      if (cmdline.includes(dir) || cwd === dir) {
        const pids = [serverPid, ...descendantPids(serverPid)];
        for (const pid of pids) signalPid(pid, 'SIGKILL');
        await waitGone(pids, 2_000);
      }
    }
    const user = (await readFile(join(dir, 'user'), 'utf8').catch(() => '')).trim();
    if (/^rsftp[0-9a-f]{8}$/.test(user)) await execFileAsync('userdel', [user]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    reaped += 1;
  }
  return reaped;
}

/** Asks the kernel for a free loopback port. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to the port reads an `SSH-` banner; rejects if the server exits or time runs out. */
export async function waitForBanner(port: number, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${proc.spawnfile} exited with ${proc.exitCode ?? proc.signalCode}`);
    }
    if (await readsBanner(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no SSH banner within ${timeoutMs} ms`);
}

async function readsBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\n')) done(received.startsWith('SSH-'));
    });
    socket.on('end', () => done(false));
  });
}

/**
 * Every live descendant of `pid`. sshd forks a session process per connection and the session calls `setsid()`,
 * so signalling the daemon's process group would miss open connections.
 */
export function descendantPids(pid: number): number[] {
  const parents = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat) parents.set(Number(entry), stat.ppid);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    for (const [child, parent] of parents) {
      if (parent === current && !found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function readProcStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Sends `signal` to `pid`, ignoring a process that is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function signalTree(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const pids = descendantPids(proc.pid ?? -1);
  proc.kill(signal);
  for (const pid of pids) signalPid(pid, signal);
  await waitGone(pids, 2_000);
}

/** Resolves once none of `pids` is alive (zombies count as gone), or after `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const alive = () =>
    pids.filter((pid) => {
      const stat = readProcStat(pid);
      return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
    });
  while (alive().length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
