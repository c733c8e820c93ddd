/**
 * A real SFTP server of the peer matrix (issue #11): OpenSSH variants, ProFTPD's mod_sftp and gesftpserver, each
 * started by the test harness from Debian's packages on a free loopback port with a configuration of its own.
 *
 * Modules: `openssh-variants.ts` (sshd with an ed25519 or RSA-only host key, key or password login, chrooted
 * `internal-sftp`), `proftpd-server.ts` (ProFTPD + mod_sftp in the foreground), `gesftp-server.ts` (sshd with
 * gesftpserver as its sftp subsystem), `peer-matrix.ts` (the list the contract test runs over) and
 * `peer-behaviour.ts` (raw answers of a peer to the requests a safe replace depends on).
 */
export interface SftpPeer {
  /** Loopback address the server listens on. */
  host: string;
  port: number;
  username: string;
  /** OpenSSH private key authorized for `username`, when the peer logs in by key. */
  privateKey: string | undefined;
  /** Password of `username`, when the peer logs in by password. */
  password: string | undefined;
  /** Fingerprint of the server's (only) host key, `SHA256:<base64>` as `ssh-keygen -l` prints it. */
  hostKeyFingerprint: string;
  /** Where the server refuses operations on purpose, when it can (ProFTPD), else `undefined`. */
  refusalZones: SftpRefusalZones | undefined;
  /** Local directory where what the client writes below {@link SftpPeer.clientRoot} lands. */
  localRoot: string;
  /** How the client names {@link SftpPeer.localRoot}: `/` when chrooted, else an absolute path. */
  clientRoot: string;
  /** The server's recent log output, for failure messages. */
  logTail(): string;
  /** SIGKILL to the server and its sessions at once (a crash); resolves once they are gone. */
  kill(): Promise<void>;
  /** Stops if needed, then starts again on the same port with the same host key, configuration and files. */
  restart(): Promise<void>;
  /** Stops the server and its sessions, removes its directory (and throwaway user). */
  destroy(): Promise<void>;
}

/**
 * Top-level directories below a peer's root where the server refuses an operation on purpose (ProFTPD's `<Directory>`
 * with `<Limit> DenyAll`), so tests can make one step of a delivery fail on a real server. Each is a name prefix:
 * create `<prefix><anything>` below {@link SftpPeer.localRoot} and use it as the target's root.
 */
export interface SftpRefusalZones {
  /** Renames onto a name in here are refused (plain rename and `posix-rename` alike). */
  renameRefused: string;
  /** Every write is refused: open for writing, mkdir, remove, rename, setstat. */
  readOnly: string;
}

/** How a peer is configured where it matters to delivery. */
export interface SftpPeerTraits {
  /** Offers `posix-rename@openssh.com` (atomic replace). */
  posixRename: boolean;
  /** Lets a client write over an existing file (ProFTPD's `AllowOverwrite`). */
  allowOverwrite: boolean;
  /** Has {@link SftpPeer.refusalZones}. */
  refusalZones: boolean;
}

/** One entry of the peer matrix: how to start the server, and which Debian packages it needs. */
export interface SftpPeerDefinition {
  /** Stable id, used in test names and in tables of expected behaviour (`proftpd-no-posix-rename`). */
  id: string;
  /** What the peer is, for test names (`ProFTPD 1.3 mod_sftp, SFTPExtensions -posixRename`). */
  description: string;
  /** Debian packages the peer is built from; a peer that cannot start says to install them. */
  debianPackages: readonly string[];
  traits: SftpPeerTraits;
  /** Starts the server; rejects with a message naming the package to install when its binary is missing. */
  start(): Promise<SftpPeer>;
}

/**
 * The error a peer gives when its binary is missing: says which Debian packages to install. Peers never skip silently
 * (CI installs them: `.ci/run`).
 *
 * @example
 * if (!existsSync(PROFTPD_PATH)) throw missingPeerBinary('ProFTPD', PROFTPD_PATH, ['proftpd-core', 'proftpd-mod-crypto']);
 */
export function missingPeerBinary(what: string, path: string, debianPackages: readonly string[]): Error {
  return new Error(
    `${what} is not installed (${path} is missing): install it with ` +
      `"apt-get install --no-install-recommends ${debianPackages.join(' ')}" (.ci/run does this on CI)`,
  );
}
