import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
  /** The host public key line (`ssh-ed25519 AAAA... comment`). */
  hostPublicKey: string;
  /** The password of `username` when started with `{ password: true }`, else `undefined`. */
  password: string | undefined;
  /** True while the listening daemon is alive. */
  readonly running: boolean;
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
   * user and the client's starting directory: relative paths land in `root` as in the default mode.
   * Default: false (user `root`, `root` is the client's `/`).
   */
  password?: boolean;
  /** How long to wait for the SSH banner after spawning sshd. Default: 10000 ms. */
  startTimeoutMs?: number;
}

/**
 * Starts a private `sshd -D -e -f <config>` on 127.0.0.1 that only speaks SFTP (`ForceCommand internal-sftp`),
 * chrooted to a fresh temporary directory, with a fresh ed25519 host key and client key. Resolves once the port
 * answers with an SSH banner. Requires `/usr/sbin/sshd` (`apt-get install openssh-server`) and root.
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
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await mkdir(SFTP_TEST_BASE_DIR, { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(SFTP_TEST_BASE_DIR, 'server-'));
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;

  const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
  const clientKeyPath = join(dir, 'client_ed25519_key');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'retention-test-host', '-f', hostKeyPath]);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'retention-test-client', '-f', clientKeyPath]);
  const hostPublicKey = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim();
  const clientPrivateKey = await readFile(clientKeyPath, 'utf8');
  const fingerprintLine = (await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKeyPath}.pub`])).stdout;
  const hostKeyFingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(fingerprintLine)?.[0];
  if (!hostKeyFingerprint) throw new Error(`could not read the host key fingerprint from "${fingerprintLine}"`);

  const authorizedKeys = join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, await readFile(`${clientKeyPath}.pub`, 'utf8'), { mode: 0o644 });

  let username = 'root';
  let password: string | undefined;
  let root: string;
  let startDir = '/';
  let chrootDir: string;
  if (options.password) {
    username = `rsftp${randomBytes(4).toString('hex')}`;
    password = randomBytes(18).toString('base64url');
    await writeFile(join(dir, 'user'), username);
    await execFileAsync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', username]);
    await new Promise<void>((resolve, reject) => {
      const child = execFile('chpasswd', (err) => (err ? reject(err) : resolve()));
      child.stdin?.end(`${username}:${password}\n`);
    });
    chrootDir = join(dir, 'jail');
    root = join(chrootDir, 'home');
    startDir = '/home';
    await mkdir(root, { recursive: true });
    await chmod(chrootDir, 0o755);
    const uid = Number((await execFileAsync('id', ['-u', username])).stdout.trim());
    const gid = Number((await execFileAsync('id', ['-g', username])).stdout.trim());
    await chown(root, uid, gid);
  } else {
    root = join(dir, 'root');
    chrootDir = root;
    await mkdir(root, { mode: 0o755 });
  }

  let port = await findFreePort();
  const pidFile = join(dir, 'sshd.pid');
  const configPath = join(dir, 'sshd_config');
  const writeConfig = () => writeFile(
    configPath,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
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
      'Subsystem sftp internal-sftp',
      `ChrootDirectory ${chrootDir}`,
      `ForceCommand internal-sftp -d ${startDir}`,
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
    if (options.password) await execFileAsync('userdel', [username]).catch(() => undefined);
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
    clientPrivateKey,
    hostKeyFingerprint,
    hostPublicKey,
    password,
    get running() {
      return isRunning();
    },
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
 * Removes what test servers of dead test runs left behind (a run killed before its teardown): stops their sshd,
 * deletes their throwaway user and their directory. Servers whose owning process is alive are left alone, so
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
    const sshdPid = Number(await readFile(join(dir, 'sshd.pid'), 'utf8').catch(() => '0'));
    const cmdline = sshdPid > 0 ? await readFile(`/proc/${sshdPid}/cmdline`, 'utf8').catch(() => '') : '';
    if (cmdline.includes(dir)) {
      const pids = [sshdPid, ...descendantPids(sshdPid)];
      for (const pid of pids) signalPid(pid, 'SIGKILL');
      await waitGone(pids, 2_000);
    }
    const user = (await readFile(join(dir, 'user'), 'utf8').catch(() => '')).trim();
    if (/^rsftp[0-9a-f]{8}$/.test(user)) await execFileAsync('userdel', [user]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    reaped += 1;
  }
  return reaped;
}

/** Asks the kernel for a free loopback port. */
async function findFreePort(): Promise<number> {
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

/** Resolves once a TCP connection to the port reads an `SSH-` banner; rejects if sshd exits or time runs out. */
async function waitForBanner(port: number, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`sshd exited with ${proc.exitCode ?? proc.signalCode}`);
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
function descendantPids(pid: number): number[] {
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

function signalPid(pid: number, signal: NodeJS.Signals): void {
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

async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const alive = () => pids.filter((pid) => {
    const stat = readProcStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  });
  while (alive().length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
