import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Client, ConnectConfig, SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { RetentionError } from '../errors.js';
import { NetworkPolicy } from '../network/network-policy.js';
import { hostKeyFingerprint, isHostKeyFingerprint } from './host-key-fingerprint.js';
import {
  describeHostKey,
  hostKeyFamilyOf,
  hostKeyHandshakes,
  hostKeyTypeOf,
  isHostKeyType,
  matchingPin,
  type HostKeyPin,
  type HostKeyType,
} from './host-key-pin.js';
import { recoveryNameFor } from './recovery-names.js';
import { PARTIAL_UPLOAD_SUFFIX, parseRemoteDirectory, parseRemotePath } from './remote-path.js';
import { toSftpConnectError } from './sftp-connect-error.js';
import { assertSpoolFile } from './spool-file.js';
import type { GrowingFile, Target, TargetEntry, UploadExpectation } from './target.js';

/** How to reach and log in to the customer's SFTP server. */
export interface SftpTargetOptions {
  host: string;
  /** Default: 22. */
  port?: number;
  username: string;
  /** Password login; give this or `privateKey` (or both: the key is tried first). */
  password?: string;
  /** OpenSSH or PEM private key for public-key login. */
  privateKey?: string | Buffer;
  /** Passphrase of an encrypted `privateKey`. */
  passphrase?: string;
  /**
   * The pinned host-key fingerprint, `SHA256:<base64>` as `ssh-keygen -l` prints it (or as
   * `probeSftpHostKey` returns it). Required: a server presenting any other key is refused with
   * `ERR_HOST_KEY_MISMATCH` before credentials or data are sent. There is no "accept unknown key" mode.
   */
  hostKeyFingerprint: string;
  /**
   * The pinned key's type (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`…): the server is asked for exactly that key.
   * Without it, every key type the server has is tried until the pinned one is presented. Default: unknown.
   */
  hostKeyType?: HostKeyType;
  /** A second accepted key, during a host-key rotation (object-storage SFTP services rotate theirs). */
  secondHostKey?: HostKeyPin;
  /**
   * Directory on the server that target paths are relative to. It must exist (`ERR_TARGET_ROOT_MISSING`); the target
   * creates directories only below it. Absolute (`/upload`) or relative to the login directory (`upload`).
   * Default: `.` (the login directory).
   */
  root?: string;
  /** Bound on the TCP connect, SSH handshake and login. Default: 15000 ms. */
  connectTimeoutMs?: number;
  /**
   * Longest time one operation may go without progress (an upload that stops moving bytes, a stat that gets no
   * answer). When it passes, the connection is dropped and the operation fails with `ERR_TARGET_TIMEOUT`.
   * Default: 60000 ms.
   */
  operationTimeoutMs?: number;
  /** Bound on `close()`; past it the socket is destroyed. Default: 5000 ms. */
  closeTimeoutMs?: number;
  /** SSH keepalive interval; a server silent for 3 intervals counts as gone. Default: 10000 ms. */
  keepaliveIntervalMs?: number;
  /** Mode of uploaded files (the server's umask may clear bits). Default: `0o644`. */
  fileMode?: number;
  /**
   * Which addresses the target may connect to: `host` is resolved and checked before every connection, which then goes
   * to the checked address (`ERR_DESTINATION_NOT_ALLOWED` otherwise, permanent). Default: public addresses only.
   */
  network?: NetworkPolicy;
  /**
   * Called, and awaited, after each step of an upload (see {@link UploadStep}): for tracing, and for fault-injection
   * tests that stop the server between two steps. Default: none.
   */
  onUploadStep?: (event: UploadStepEvent) => void | Promise<void>;
}

/**
 * The steps of {@link SftpTarget.uploadAtomically}, in order. `previous-set-aside` (the delivered file renamed to its
 * recovery name) and `recovery-copy-removed` happen only in a safe replace, on a server without an atomic
 * `posix-rename@openssh.com`; `in-place` is the `.part` renamed to the final name.
 */
export type UploadStep = 'part-written' | 'part-checked' | 'previous-set-aside' | 'in-place' | 'recovery-copy-removed';

/** One step of an upload, reported to {@link SftpTargetOptions.onUploadStep}. Paths are relative to the target root. */
export interface UploadStepEvent {
  step: UploadStep;
  remotePath: string;
  /** Where the delivered file waits during a safe replace (from `previous-set-aside` on). */
  recoveryPath?: string;
}

/** Fields of ssh2-sftp-client that its type definitions leave out. */
interface SftpClientInternals {
  client: Client;
  sftp?: SFTPWrapper;
}

/** The longest write request the server takes, as ssh2 learnt it (`limits@openssh.com`, or its OpenSSH default). */
function maxWriteBytes(sftp: SFTPWrapper): number {
  const limit = (sftp as unknown as { _maxWriteLen?: unknown })._maxWriteLen;
  return typeof limit === 'number' && Number.isInteger(limit) && limit > 0 ? Math.min(limit, TRANSFER_CHUNK_BYTES) : DEFAULT_WRITE_BYTES;
}

/** What {@link SftpTarget} writes to a `.part`: the bytes, where, and their count when it is known in advance. */
interface PartUpload {
  bytes: AsyncIterable<Buffer>;
  partPath: string;
  directory: string;
  remotePath: string;
  knownBytes: number | undefined;
}

/** A local file's bytes in chunks of {@link TRANSFER_CHUNK_BYTES}; the file is opened only once the first is read. */
async function* localFileBytes(localPath: string): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(localPath, { highWaterMark: TRANSFER_CHUNK_BYTES })) yield chunk as Buffer;
}

interface Connection {
  client: SftpClient;
  raw: Client;
  sftp: SFTPWrapper;
  lost: boolean;
}

/**
 * Chunk size of uploads and downloads. ssh2's streams wait for the server's answer to each chunk; with their 16-64 KiB
 * defaults a 32 MiB upload takes ~18 s on loopback instead of ~0.6 s.
 */
const TRANSFER_CHUNK_BYTES = 1024 * 1024;
/**
 * Bytes of write requests sent before the first is answered. ssh2 sends at most the server's write length (255 KiB on
 * OpenSSH, from `limits@openssh.com`) per request and the rest of a longer write only after that part is answered, so
 * uploads are cut into requests of that length, and about 1 MiB of them kept in flight: half of OpenSSH's 2 MiB
 * channel window, so ssh2 never queues requests behind a closed window (against OpenSSH, 4 MiB in flight made the
 * first upload of a connection several times slower, 1 MiB of 1 MiB writes about twice as slow).
 */
const WRITE_BYTES_IN_FLIGHT = 1024 * 1024;
/** Request length when the SFTP session does not say what the server takes: the SFTP draft's 32 KiB every server accepts. */
const DEFAULT_WRITE_BYTES = 32 * 1024;
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
/** SSH_FX_FAILURE: what servers answer, without a reason, to a full disk, a quota or a read-only file system. */
const SFTP_FAILURE = 4;
/** SSH2_FXE_STATVFS_ST_RDONLY in the `f_flag` of a `statvfs@openssh.com` reply. */
const STATVFS_READ_ONLY = 1;
const CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_NOT_CONNECTED', 'ERR_GENERIC_CLIENT']);

function codeOf(err: unknown): string | number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const { code } = err as { code: unknown };
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}

function isMissing(err: unknown): boolean {
  const code = codeOf(err);
  return code === NO_SUCH_FILE || code === 'ENOENT';
}

/** Sends one raw SFTP request; a method that throws at once (an extension the server does not offer) rejects. */
function sftpCall<T = void>(send: (callback: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      send((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err);
    }
  });
}

/** What `statvfs@openssh.com` says about the file system holding a directory. */
interface FreeSpace {
  /** Bytes the SFTP user may still write (`f_bavail * f_frsize`). */
  availableBytes: number;
  blockBytes: number;
  /** Inodes the SFTP user may still create (`f_favail`), when the file system counts them. */
  availableInodes: number | undefined;
  readOnly: boolean;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? 'TiB'}`;
}

/**
 * A {@link Target} on the customer's SFTP server (ssh2-sftp-client over ssh2).
 *
 * - The host key is pinned: an unknown key is refused during the key exchange, before login.
 * - One SSH connection per instance, opened by `prepare()` or on first use and reopened after it was lost (`close()`
 *   also stops a handshake still running); operations are serialized on it (ssh2-sftp-client does not support
 *   concurrent calls on one connection). `read` holds the connection until its stream closes: consume or destroy the
 *   stream before the next call.
 * - Uploads are sent as write requests of the server's own maximum length, about 1 MiB of them in flight.
 * - `uploadAtomically` creates the parent directories, writes `<name>.part` (truncating a stale one left by a failed
 *   attempt, or removing it first where the server refuses to write over a file, as ProFTPD's `AllowOverwrite off`
 *   does, so a retry leaves no `.part` behind), compares its size with the expected bytes (a mismatch removes the
 *   part file and fails with `ERR_TARGET_SIZE_MISMATCH`, or `ERR_TARGET_DISK_FULL` when the server's free space
 *   explains it), and renames it over `<name>` with `posix-rename@openssh.com` (atomic replace).
 * - Where that extension is missing or refused, the replace is safe instead of atomic, and never deletes the only
 *   copy: `<name>` is renamed to its recovery name (`<name>.replaced-<stamp>-<token>`, `recovery-names.ts`), the
 *   `.part` renamed to `<name>`, then the recovery copy deleted; if the second rename fails the recovery copy is
 *   renamed back. A plain rename onto an existing name is refused by every server (with status 4 or 11, so the
 *   target looks whether `<name>` exists instead of trusting the code).
 * - Writes are sent on the raw SFTP channel and every answer is checked (ssh2's write stream drops a failed write's
 *   error, so a full disk looked like a success). A refusal with the reasonless `SSH_FX_FAILURE` is explained with
 *   `statvfs@openssh.com` where offered: `ERR_TARGET_READ_ONLY` (permanent) for a read-only file system,
 *   `ERR_TARGET_DISK_FULL` (transient) when the free space does not cover the file.
 * - The host is resolved and every address checked against the network policy before each connection, which goes to
 *   the checked address: a tenant cannot aim the worker at the operator's own network (`ERR_DESTINATION_NOT_ALLOWED`).
 * - Permanent failures: `ERR_DESTINATION_NOT_ALLOWED`, `ERR_HOST_KEY_MISMATCH`, `ERR_TARGET_AUTH`, `ERR_TARGET_ROOT_MISSING`, `ERR_TARGET_PERMISSION`,
 *   `ERR_TARGET_READ_ONLY`, `ERR_TARGET_CONFIG_INVALID`, `ERR_PATH_INVALID`. Transient: `ERR_TARGET_UNREACHABLE`, `ERR_TARGET_TIMEOUT`,
 *   `ERR_TARGET_SIZE_MISMATCH`, `ERR_TARGET_DISK_FULL`, `ERR_TARGET_IO`. A missing file on `read` is `ERR_TARGET_NOT_FOUND`;
 *   `rename` onto an existing name is `ERR_TARGET_EXISTS`.
 *
 * @example
 * const target = new SftpTarget({ host: 'sftp.example.com', username: 'acme', privateKey,
 *   hostKeyFingerprint: 'SHA256:rrav+HIhNjfQKdYSKQgrjFfk6SjF+vlj85bRnhCU0qs', root: '/upload' });
 * try {
 *   await target.uploadAtomically('/spool/chats-1.json', 'acme/2025/01/31/chats/chats-1.json', { bytes: 1234 });
 * } finally {
 *   await target.close();
 * }
 */
export class SftpTarget implements Target {
  readonly kind = 'sftp';
  private readonly host: string;
  private readonly port: number;
  private readonly root: string;
  private readonly connectTimeoutMs: number;
  private readonly operationTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly keepaliveIntervalMs: number;
  private readonly fileMode: number;
  private readonly network: NetworkPolicy;
  private connection: Connection | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Why the last {@link prepare} failed, thrown by the next operation. */
  private preparationFailure: { error: unknown } | undefined;
  /** SSH clients still in their handshake or root check, destroyed by `close`. */
  private readonly handshaking = new Set<Client>();

  constructor(private readonly options: SftpTargetOptions) {
    const problems: string[] = [];
    if (!options.host) problems.push('host is empty');
    if (!options.username) problems.push('username is empty');
    if (!options.password && !options.privateKey) problems.push('give a password or a private key');
    if (!isHostKeyFingerprint(options.hostKeyFingerprint ?? '')) {
      problems.push('hostKeyFingerprint must be "SHA256:" and 43 base64 characters, as "ssh-keygen -l" prints it');
    }
    if (options.hostKeyType !== undefined && !isHostKeyType(options.hostKeyType))
      problems.push(`hostKeyType ${JSON.stringify(options.hostKeyType)} is not a host-key type`);
    if (
      options.secondHostKey !== undefined &&
      (!isHostKeyFingerprint(options.secondHostKey.fingerprint) || (options.secondHostKey.type !== undefined && !isHostKeyType(options.secondHostKey.type)))
    ) {
      problems.push('secondHostKey must be a fingerprint "SHA256:…" with an optional host-key type');
    }
    const root = options.root ?? '.';
    if (root === '' || root.includes('\\') || root.includes('\u0000') || root.split('/').includes('..'))
      problems.push(`root ${JSON.stringify(root)} is not a usable directory path`);
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536))
      problems.push(`port ${options.port} is not 1-65535`);
    if (problems.length > 0) {
      throw new RetentionError('ERR_TARGET_CONFIG_INVALID', `SFTP target settings are invalid: ${problems.join('; ')}`);
    }
    this.host = options.host;
    this.port = options.port ?? 22;
    this.root = root;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.operationTimeoutMs = options.operationTimeoutMs ?? 60_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.keepaliveIntervalMs = options.keepaliveIntervalMs ?? 10_000;
    this.fileMode = options.fileMode ?? 0o644;
    this.network = options.network ?? new NetworkPolicy();
  }

  /**
   * Opens the connection now (the host's resolution and check, the handshake with the pinned key, the login and the
   * root directory's check) so it is ready for the first operation: the handshake then overlaps the caller's own
   * work. Never rejects: a failure leaves no connection open and is thrown, as the same `RetentionError` with its
   * code, by the next operation (later ones connect again). Does nothing on a target that is connected or closed.
   *
   * @example
   * void target.prepare();
   * const files = await encodeFiles();
   * await target.uploadAtomically(files[0].localPath, files[0].remotePath, { bytes: files[0].bytes });
   */
  prepare(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed || (this.connection !== undefined && !this.connection.lost)) return;
      try {
        await this.connected();
      } catch (error) {
        if (!this.closed) this.preparationFailure = { error };
      }
    });
  }

  async uploadAtomically(localPath: string, remotePath: string, expected: UploadExpectation): Promise<void> {
    parseRemotePath(remotePath);
    await assertSpoolFile(localPath);
    await this.upload(localFileBytes(localPath), Promise.resolve(expected), remotePath, expected.bytes);
  }

  /**
   * {@link uploadAtomically} of a spool file still being written: its bytes are sent as they reach the disk, the size
   * is checked once the file is complete, and only then is the `.part` renamed into place. Waiting for the next bytes
   * is not the server's stall: the no-progress bound runs only while the server owes an answer. A file abandoned before
   * it is complete fails the upload with its own error (`ERR_SPOOL_ABANDONED`), its `.part` removed.
   */
  async uploadGrowing(file: GrowingFile, remotePath: string): Promise<void> {
    parseRemotePath(remotePath);
    file.complete.catch(() => undefined);
    await this.upload(file.bytes, file.complete, remotePath, undefined);
  }

  /** Both uploads: the directories, `<name>.part` from `bytes`, its size against `expected`, the rename into place. */
  private async upload(bytes: AsyncIterable<Buffer>, expected: Promise<UploadExpectation>, remotePath: string, knownBytes: number | undefined): Promise<void> {
    const segments = parseRemotePath(remotePath);
    const finalPath = this.resolve(segments);
    const partPath = finalPath + PARTIAL_UPLOAD_SUFFIX;
    const directory = this.resolve(segments.slice(0, -1));
    await this.exclusive(async () => {
      const conn = await this.connected();
      await this.operation(conn, 'create the directories of', remotePath, async () => {
        try {
          await this.ensureDirectory(conn, segments.slice(0, -1));
        } catch (err) {
          throw (await this.explainRefusal(conn, err, `create the directories of ${remotePath}`, directory, 0)) ?? err;
        }
      });
      const part = { bytes, partPath, directory, remotePath, knownBytes };
      await this.operation(conn, 'upload', remotePath, (progress, idle) => this.writePart(conn, part, progress, idle));
      let expectedBytes: number;
      try {
        expectedBytes = (await expected).bytes;
      } catch (abandoned) {
        await this.operation(conn, 'remove the partial upload of', remotePath, () => conn.client.delete(partPath, true)).catch(() => undefined);
        throw abandoned;
      }
      await this.announce({ step: 'part-written', remotePath });
      const written = (await this.operation(conn, 'check the size of', remotePath, () => conn.client.stat(partPath))).size;
      if (written !== expectedBytes) {
        const mismatch = await this.sizeMismatch(conn, remotePath, directory, written, expectedBytes);
        await this.operation(conn, 'remove the partial upload of', remotePath, () => conn.client.delete(partPath, true));
        throw mismatch;
      }
      await this.announce({ step: 'part-checked', remotePath });
      await this.operation(conn, 'rename into place', remotePath, (progress) => this.placeFile(conn, partPath, finalPath, remotePath, progress));
    });
  }

  async read(remotePath: string): Promise<Readable> {
    const segments = parseRemotePath(remotePath);
    const path = this.resolve(segments);
    return new Promise<Readable>((resolveStream, rejectStream) => {
      void this.exclusive(async () => {
        try {
          const conn = await this.connected();
          await this.operation(conn, 'read', remotePath, async () => {
            if (!(await conn.client.stat(path)).isFile) throw Object.assign(new Error(`${remotePath} is not a file`), { code: NO_SUCH_FILE });
          });
          const stream = conn.client.createReadStream(path, { highWaterMark: TRANSFER_CHUNK_BYTES });
          const released = new Promise<void>((release) => {
            stream.once('close', release);
            stream.once('error', () => release());
          });
          resolveStream(stream);
          await released;
        } catch (err) {
          rejectStream(err);
        }
      });
    });
  }

  async list(remoteDir: string): Promise<TargetEntry[]> {
    const path = this.resolve(parseRemoteDirectory(remoteDir));
    return this.exclusive(async () => {
      const conn = await this.connected();
      return this.operation(conn, 'list', remoteDir, async () => {
        try {
          const items = await conn.client.list(path);
          return items
            .map((item): TargetEntry => ({ name: item.name, type: item.type === '-' ? 'file' : item.type === 'd' ? 'directory' : 'other', size: item.size }))
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        } catch (err) {
          if (isMissing(err)) return [];
          throw err;
        }
      });
    });
  }

  async stat(remotePath: string): Promise<TargetEntry | undefined> {
    const segments = parseRemotePath(remotePath);
    const path = this.resolve(segments);
    return this.exclusive(async () => {
      const conn = await this.connected();
      return this.operation(conn, 'stat', remotePath, async () => {
        try {
          const info = await conn.client.stat(path);
          const type = info.isFile ? 'file' : info.isDirectory ? 'directory' : 'other';
          return { name: segments[segments.length - 1] ?? remotePath, type, size: info.size };
        } catch (err) {
          if (isMissing(err)) return undefined;
          throw err;
        }
      });
    });
  }

  async remove(remotePath: string): Promise<void> {
    const path = this.resolve(parseRemotePath(remotePath));
    await this.exclusive(async () => {
      const conn = await this.connected();
      await this.operation(conn, 'remove', remotePath, () => conn.client.delete(path, true));
    });
  }

  /**
   * Renames a file to a free name with a plain `SSH_FXP_RENAME`, which no server lets replace a file; `to` is checked
   * first all the same, and an existing one fails with `ERR_TARGET_EXISTS` (nothing renamed).
   */
  async rename(fromPath: string, toPath: string): Promise<void> {
    const from = this.resolve(parseRemotePath(fromPath));
    const to = this.resolve(parseRemotePath(toPath));
    await this.exclusive(async () => {
      const conn = await this.connected();
      await this.operation(conn, 'rename', fromPath, async () => {
        const exists = (): RetentionError =>
          new RetentionError(
            'ERR_TARGET_EXISTS',
            `${toPath} already exists on SFTP server ${this.host}:${this.port}, so ${fromPath} was not renamed to it (nothing was replaced)`,
          );
        if (await this.exists(conn, to)) throw exists();
        try {
          await this.request(conn, (cb) => conn.sftp.rename(from, to, cb));
        } catch (err) {
          if (!conn.lost && !isMissing(err) && (await this.exists(conn, to))) throw exists();
          throw err;
        }
      });
    });
  }

  /** Ends the SSH connection; returns within `closeTimeoutMs` even when the server is gone. Later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.preparationFailure = undefined;
    for (const raw of this.handshaking) raw.destroy();
    const conn = this.connection;
    this.connection = undefined;
    if (!conn) return;
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.closeTimeoutMs);
    });
    try {
      await Promise.race([conn.client.end().catch(() => undefined), bounded]);
    } finally {
      clearTimeout(timer);
      conn.raw.destroy();
    }
  }

  private resolve(segments: readonly string[]): string {
    if (segments.length === 0) return this.root;
    return this.root === '.' ? segments.join('/') : posix.join(this.root, ...segments);
  }

  /** Runs `work` after every earlier call on this target has settled. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async connected(): Promise<Connection> {
    if (this.closed) {
      throw new RetentionError('ERR_TARGET_CLOSED', `SFTP target ${this.host}:${this.port} was closed; create a new target`);
    }
    if (this.preparationFailure !== undefined) {
      const { error } = this.preparationFailure;
      this.preparationFailure = undefined;
      throw error;
    }
    if (this.connection && !this.connection.lost) return this.connection;
    if (this.connection) this.drop(this.connection);
    const conn = await this.connect();
    if (this.closed) {
      conn.raw.destroy();
      throw new RetentionError('ERR_TARGET_CLOSED', `SFTP target ${this.host}:${this.port} was closed while connecting`);
    }
    this.connection = conn;
    return conn;
  }

  /** The pinned host keys: the primary pin and, during a rotation, the second one. */
  private get pins(): HostKeyPin[] {
    const primary: HostKeyPin = {
      fingerprint: this.options.hostKeyFingerprint,
      ...(this.options.hostKeyType !== undefined ? { type: this.options.hostKeyType } : {}),
    };
    return this.options.secondHostKey !== undefined ? [primary, this.options.secondHostKey] : [primary];
  }

  /**
   * Opens an SFTP session with a server whose host key is pinned. The server is asked for the pinned key's type (a
   * server with several host keys otherwise presents the one ssh2 prefers); a pin without a type is looked for among
   * every key type the server has, one handshake per type, before the server is called an impostor. Credentials are
   * sent only after a pinned key was presented.
   */
  private async connect(): Promise<Connection> {
    const pins = this.pins;
    const presented: Array<{ fingerprint: string; type: string | undefined }> = [];
    const seenFamilies = new Set<number>();
    const [address] = await this.network.resolve('SFTP server', this.host).catch((err: unknown) => {
      throw toSftpConnectError(err, { host: this.host, port: this.port });
    });
    let missingType: RetentionError | undefined;
    for (const algorithms of hostKeyHandshakes(pins)) {
      if (algorithms !== undefined && seenFamilies.has(hostKeyFamilyOf(algorithms[0]))) continue;
      const outcome = await this.handshake(address?.address ?? this.host, pins, algorithms);
      if ('conn' in outcome) {
        this.handshaking.add(outcome.conn.raw);
        try {
          return await this.openRoot(outcome.conn);
        } finally {
          this.handshaking.delete(outcome.conn.raw);
        }
      }
      if ('presented' in outcome) {
        presented.push(outcome.presented);
        seenFamilies.add(hostKeyFamilyOf(outcome.presented.type));
      } else missingType = outcome.noSuchKeyType;
    }
    if (presented.length === 0 && missingType !== undefined) throw missingType;
    const shown = presented.map(describeHostKey).join(' and ');
    const pinnedText = pins.map(describeHostKey).join(' or ');
    throw new RetentionError(
      'ERR_HOST_KEY_MISMATCH',
      `SFTP server ${this.host}:${this.port} presented host key ${shown}, but ${pinnedText} is pinned; nothing was sent. If the server's key was changed on purpose, pin the new fingerprint in the SFTP settings (during a rotation, pin both); otherwise someone may be intercepting the connection`,
    );
  }

  /**
   * One SSH handshake offering `algorithms` as host-key types (`undefined`: ssh2's defaults). Returns the open
   * connection when a pinned key was presented; the key otherwise (nothing was sent); or, when the server has no key
   * of the offered types, that refusal. Other failures (unreachable, authentication, timeouts) are thrown.
   */
  private async handshake(
    address: string,
    pins: readonly HostKeyPin[],
    algorithms: string[] | undefined,
  ): Promise<{ conn: Connection } | { presented: { fingerprint: string; type: string | undefined } } | { noSuchKeyType: RetentionError }> {
    const quiet = { error: () => undefined, end: () => undefined, close: () => undefined };
    const client = new SftpClient('retention-sftp-target', quiet);
    const raw = (client as unknown as SftpClientInternals).client;
    const endpoint = { host: this.host, port: this.port };
    let presented: { fingerprint: string; type: string | undefined } | undefined;
    let accepted = false;
    let rawError: unknown;
    raw.on('error', (err) => {
      rawError ??= err;
    });
    const conn: Partial<Connection> & { lost: boolean } = { client, raw, lost: false };
    raw.on('close', () => {
      conn.lost = true;
    });
    let timer: NodeJS.Timeout | undefined;
    this.handshaking.add(raw);
    try {
      const connecting = client.connect({
        host: address,
        port: this.port,
        username: this.options.username,
        password: this.options.password,
        privateKey: this.options.privateKey,
        passphrase: this.options.passphrase,
        readyTimeout: this.connectTimeoutMs,
        keepaliveInterval: this.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        ...(algorithms !== undefined
          ? { algorithms: { serverHostKey: algorithms as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']> } }
          : {}),
        hostVerifier: (key: Buffer): boolean => {
          presented = { fingerprint: hostKeyFingerprint(key), type: hostKeyTypeOf(key) };
          accepted = matchingPin(pins, presented.fingerprint, presented.type) !== undefined;
          return accepted;
        },
      });
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error(`no SFTP session within ${this.connectTimeoutMs} ms`), { level: 'client-timeout' })),
          this.connectTimeoutMs + 1_000,
        );
      });
      conn.sftp = await Promise.race([connecting, deadline]);
      return { conn: conn as Connection };
    } catch (err) {
      raw.destroy();
      if (presented !== undefined && !accepted) return { presented };
      const message = err instanceof Error ? err.message : String(err);
      if (
        presented === undefined &&
        algorithms !== undefined &&
        /no matching host ?key/i.test(`${message} ${rawError instanceof Error ? rawError.message : ''}`)
      ) {
        return {
          noSuchKeyType: new RetentionError(
            'ERR_HOST_KEY_MISMATCH',
            `SFTP server ${this.host}:${this.port} has no host key of the pinned type (${[...new Set(pins.map((pin) => pin.type ?? 'any'))].join(', ')}); nothing was sent. Pin one of the keys it has (Test connection on the Retention page lists them), or check that this is the right server`,
            { cause: err },
          ),
        };
      }
      throw toSftpConnectError(rawError ?? err, endpoint);
    } finally {
      clearTimeout(timer);
      this.handshaking.delete(raw);
    }
  }

  /** Checks that the root directory exists on a freshly opened connection; closes the connection when it does not. */
  private async openRoot(ready: Connection): Promise<Connection> {
    const { client, raw } = ready;
    try {
      await this.operation(ready, 'open the root directory', this.root, async () => {
        let isDirectory = false;
        try {
          isDirectory = (await client.stat(this.root)).isDirectory;
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
        if (!isDirectory) {
          throw new RetentionError(
            'ERR_TARGET_ROOT_MISSING',
            `the root directory ${this.root} does not exist on SFTP server ${this.host}:${this.port} (or is not a directory); create it there or fix the root in the SFTP settings (the target creates only directories below it)`,
          );
        }
      });
    } catch (err) {
      ready.lost = true;
      raw.destroy();
      throw err;
    }
    return ready;
  }

  private drop(conn: Connection): void {
    conn.lost = true;
    if (this.connection === conn) this.connection = undefined;
    conn.raw.destroy();
  }

  /**
   * Runs one SFTP operation under the no-progress watchdog and maps its failure to a target error.
   * `work` calls `progress` whenever it moves data, which restarts the watchdog, and wraps in `idle` what it waits
   * for on this machine (the next bytes of a file still being written): the watchdog is off while it waits.
   */
  private async operation<T>(
    conn: Connection,
    what: string,
    remotePath: string,
    work: (progress: () => void, idle: <R>(wait: Promise<R>) => Promise<R>) => Promise<T>,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let expire: (err: Error) => void = () => undefined;
    const watchdog = new Promise<never>((_, reject) => {
      expire = reject;
    });
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.drop(conn);
        expire(
          new RetentionError(
            'ERR_TARGET_TIMEOUT',
            `SFTP server ${this.host}:${this.port} made no progress for ${this.operationTimeoutMs} ms while trying to ${what} ${remotePath}; the connection was dropped, retry later`,
          ),
        );
      }, this.operationTimeoutMs);
    };
    arm();
    // While `work` waits on this machine, writes still in flight may answer: they must not restart the watchdog, or
    // it would fire during the wait. A server that stalls meanwhile is caught once the wait ends.
    let idling = false;
    const progress = (): void => {
      if (!idling) arm();
    };
    const idle = async <R>(wait: Promise<R>): Promise<R> => {
      clearTimeout(timer);
      idling = true;
      try {
        return await wait;
      } finally {
        idling = false;
        arm();
      }
    };
    try {
      return await Promise.race([work(progress, idle), watchdog]);
    } catch (err) {
      throw this.toOperationError(err, conn, what, remotePath);
    } finally {
      clearTimeout(timer);
    }
  }

  private toOperationError(err: unknown, conn: Connection, what: string, remotePath: string): RetentionError {
    if (err instanceof RetentionError) return err;
    const code = codeOf(err);
    const message = err instanceof Error ? err.message : String(err);
    const where = `${this.host}:${this.port}`;
    if (conn.lost || (typeof code === 'string' && CONNECTION_CODES.has(code))) {
      this.drop(conn);
      return new RetentionError(
        'ERR_TARGET_UNREACHABLE',
        `connection to SFTP server ${where} was lost while trying to ${what} ${remotePath} (${message}); a later attempt may succeed`,
        { cause: err },
      );
    }
    if (code === PERMISSION_DENIED || code === 'EACCES' || /permission denied/i.test(message)) {
      return new RetentionError(
        'ERR_TARGET_PERMISSION',
        `SFTP server ${where} denied permission to ${what} ${remotePath} (${message}); give the SFTP user write access below the root directory ${this.root}`,
        { cause: err },
      );
    }
    if (isMissing(err)) {
      return new RetentionError('ERR_TARGET_NOT_FOUND', `${remotePath} does not exist on SFTP server ${where} (could not ${what} it)`, { cause: err });
    }
    return new RetentionError('ERR_TARGET_IO', `SFTP server ${where} failed to ${what} ${remotePath} (${message}); a later attempt may succeed`, {
      cause: err,
    });
  }

  private async isDirectory(conn: Connection, segments: readonly string[]): Promise<boolean> {
    try {
      return (await conn.client.stat(this.resolve(segments))).isDirectory;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** `mkdir -p` below the root; tolerates another worker creating the same directory at the same time. */
  private async ensureDirectory(conn: Connection, segments: readonly string[]): Promise<void> {
    if (segments.length === 0 || (await this.isDirectory(conn, segments))) return;
    for (let depth = 1; depth <= segments.length; depth += 1) {
      const prefix = segments.slice(0, depth);
      if (await this.isDirectory(conn, prefix)) continue;
      try {
        await new Promise<void>((resolve, reject) => conn.sftp.mkdir(this.resolve(prefix), (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        if (!(await this.isDirectory(conn, prefix))) throw err;
      }
    }
  }

  /** One raw SFTP request on `conn`; on a connection already lost it fails at once (ssh2 would never answer it). */
  private request<T = void>(conn: Connection, send: (callback: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    if (conn.lost) return Promise.reject(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
    return sftpCall<T>(send);
  }

  private async announce(event: UploadStepEvent): Promise<void> {
    await this.options.onUploadStep?.(event);
  }

  private async exists(conn: Connection, path: string): Promise<boolean> {
    try {
      await this.request<unknown>(conn, (cb) => conn.sftp.lstat(path, cb));
      return true;
    } catch (err) {
      if (isMissing(err) && !conn.lost) return false;
      throw err;
    }
  }

  /**
   * Writes the file's bytes to `partPath` on the raw SFTP channel, a few chunks in flight, and checks every answer: a
   * refused write fails the upload (explained by {@link explainRefusal}) and removes the partial file, so a full disk
   * gets its space back. A failure to read the bytes (a spool file abandoned while it grew) removes it too.
   */
  private async writePart(
    conn: Connection,
    { bytes, partPath, directory, remotePath, knownBytes }: PartUpload,
    progress: () => void,
    idle: <R>(wait: Promise<R>) => Promise<R>,
  ): Promise<void> {
    const handle = await this.openForWriting(conn, partPath, directory, remotePath);
    let failure: unknown;
    let stored = 0;
    let position = 0;
    const chunks = bytes[Symbol.asyncIterator]();
    try {
      const pending = new Set<Promise<void>>();
      const pieceBytes = maxWriteBytes(conn.sftp);
      const piecesInFlight = Math.max(1, Math.floor(WRITE_BYTES_IN_FLIGHT / pieceBytes));
      reading: for (;;) {
        const next = await idle(chunks.next());
        if (next.done === true) break;
        const data = next.value;
        for (let start = 0; start < data.length; start += pieceBytes) {
          if (failure !== undefined || conn.lost) break reading;
          const length = Math.min(pieceBytes, data.length - start);
          const offset = position;
          position += length;
          const write: Promise<void> = this.request(conn, (cb) => conn.sftp.write(handle, data, start, length, offset, cb))
            .then(
              () => {
                stored += length;
                progress();
              },
              (err: unknown) => {
                failure ??= err;
              },
            )
            .finally(() => pending.delete(write));
          pending.add(write);
          if (pending.size >= piecesInFlight) await Promise.race(pending);
        }
      }
      await Promise.all(pending);
    } catch (err) {
      failure ??= err;
    } finally {
      await chunks.return?.().catch(() => undefined);
      const closeError = await this.request(conn, (cb) => conn.sftp.close(handle, cb)).then(
        () => undefined,
        (err: unknown) => err ?? new Error('close failed'),
      );
      failure ??= closeError;
    }
    if (conn.lost) throw Object.assign(new Error('connection closed during the upload'), { code: 'ECONNRESET' });
    if (failure === undefined) return;
    const onServer = await this.request<{ size: number }>(conn, (cb) => conn.sftp.stat(partPath, cb)).then(
      (attrs) => attrs.size,
      () => stored,
    );
    const total = knownBytes ?? position;
    const refused = await this.explainRefusal(conn, failure, `write ${remotePath}`, directory, total - onServer, { stored: onServer, total });
    await this.request(conn, (cb) => conn.sftp.unlink(partPath, cb)).catch(() => undefined);
    throw refused ?? failure;
  }

  /**
   * Opens `partPath` for writing, truncating a stale one. A server that refuses to write over an existing file
   * (ProFTPD's `AllowOverwrite off` answers "Permission denied") still lets the stale `.part` be removed: it is, and
   * the open is tried once more.
   */
  private async openForWriting(conn: Connection, partPath: string, directory: string, remotePath: string): Promise<Buffer> {
    const open = (): Promise<Buffer> => this.request<Buffer>(conn, (cb) => conn.sftp.open(partPath, 'w', { mode: this.fileMode }, cb));
    const what = `create ${remotePath}${PARTIAL_UPLOAD_SUFFIX}`;
    try {
      return await open();
    } catch (err) {
      if (conn.lost) throw err;
      if (codeOf(err) !== PERMISSION_DENIED || !(await this.exists(conn, partPath))) throw (await this.explainRefusal(conn, err, what, directory, 0)) ?? err;
    }
    await this.request(conn, (cb) => conn.sftp.unlink(partPath, cb));
    try {
      return await open();
    } catch (err) {
      throw (await this.explainRefusal(conn, err, what, directory, 0)) ?? err;
    }
  }

  /** `statvfs@openssh.com` of `directory` (or of the root, when it does not exist yet); `undefined` when not offered. */
  private async freeSpace(conn: Connection, directory: string): Promise<FreeSpace | undefined> {
    const bound = Math.min(this.operationTimeoutMs, 5_000);
    for (const path of directory === this.root ? [directory] : [directory, this.root]) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const stats = await Promise.race([
          this.request<Record<string, number | bigint>>(conn, (cb) => conn.sftp.ext_openssh_statvfs(path, cb)),
          new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), bound);
          }),
        ]);
        if (stats === undefined) return undefined;
        const number = (field: string): number => Number(stats[field] ?? 0);
        return {
          availableBytes: number('f_bavail') * number('f_frsize'),
          blockBytes: number('f_frsize'),
          availableInodes: number('f_files') > 0 ? number('f_favail') : undefined,
          readOnly: (number('f_flag') & STATVFS_READ_ONLY) !== 0,
        };
      } catch (err) {
        if (conn.lost || !isMissing(err)) return undefined;
      } finally {
        clearTimeout(timer);
      }
    }
    return undefined;
  }

  /**
   * Explains a refusal the server gave without a reason (`SSH_FX_FAILURE`) where `statvfs@openssh.com` can: a
   * read-only file system (`ERR_TARGET_READ_ONLY`, permanent), a full disk (`ERR_TARGET_DISK_FULL`, transient), or
   * says what the usual causes are (`ERR_TARGET_IO`). `undefined` for other errors, mapped as usual.
   */
  private async explainRefusal(
    conn: Connection,
    err: unknown,
    what: string,
    directory: string,
    bytesNeeded: number,
    written?: { stored: number; total: number },
  ): Promise<RetentionError | undefined> {
    if (conn.lost || codeOf(err) !== SFTP_FAILURE) return undefined;
    const where = `${this.host}:${this.port}`;
    const answer = err instanceof Error ? err.message : String(err);
    const after = written === undefined ? '' : ` after storing ${written.stored} of ${written.total} bytes`;
    const removed = written === undefined ? '' : ' The partial file was removed.';
    const space = await this.freeSpace(conn, directory);
    if (space?.readOnly) {
      return new RetentionError(
        'ERR_TARGET_READ_ONLY',
        `SFTP server ${where} refused to ${what} ("${answer}"): the file system holding ${directory} is read-only (statvfs@openssh.com says so). Ask the server's administrator to make it writable, or point the SFTP settings at a writable root; retrying cannot help until then.${removed}`,
        { cause: err },
      );
    }
    const noInodes = space?.availableInodes === 0;
    if (space !== undefined && (space.availableBytes < Math.max(bytesNeeded, space.blockBytes, 1) || noInodes)) {
      const free = noInodes ? 'no free inodes' : `${formatBytes(space.availableBytes)} free for this user`;
      return new RetentionError(
        'ERR_TARGET_DISK_FULL',
        `SFTP server ${where} refused to ${what} ("${answer}")${after}: its disk is full (statvfs@openssh.com: ${free} in ${directory}${bytesNeeded > 0 ? `, ${formatBytes(bytesNeeded)} more needed` : ''}). Free space on the server or raise the SFTP user's quota; a later attempt uploads the file again.${removed}`,
        { cause: err },
      );
    }
    if (/no space|disk full|out of (disk )?space|quota/i.test(answer)) {
      return new RetentionError(
        'ERR_TARGET_DISK_FULL',
        `SFTP server ${where} refused to ${what} ("${answer}")${after}: its disk or the SFTP user's quota is full. Free space on the server or raise the quota; a later attempt uploads the file again.${removed}`,
        { cause: err },
      );
    }
    const measured =
      space === undefined
        ? ''
        : ` (statvfs@openssh.com reports ${formatBytes(space.availableBytes)} free on a writable file system, so a quota or a rule of the server is more likely)`;
    return new RetentionError(
      'ERR_TARGET_IO',
      `SFTP server ${where} refused to ${what}${after} with "${answer}" and no reason; the usual causes are a full disk, the SFTP user's quota or a read-only location${measured}. Check the server; a later attempt may succeed.${removed}`,
      { cause: err },
    );
  }

  /** The error of a `.part` whose size is not the spool file's, measured before the partial file is removed. */
  private async sizeMismatch(conn: Connection, remotePath: string, directory: string, written: number, expected: number): Promise<RetentionError> {
    const where = `${this.host}:${this.port}`;
    if (written > expected) {
      return new RetentionError(
        'ERR_TARGET_SIZE_MISMATCH',
        `upload of ${remotePath} to ${where} wrote ${written} bytes but ${expected} were expected: the spool file changed while uploading; the partial file was removed, a later attempt uploads it again`,
      );
    }
    const space = await this.freeSpace(conn, directory).catch(() => undefined);
    const stored = `SFTP server ${where} stored only ${written} of the ${expected} bytes sent for ${remotePath}, although it acknowledged every write`;
    if (space !== undefined && space.availableBytes < Math.max(expected - written, space.blockBytes, 1)) {
      return new RetentionError(
        'ERR_TARGET_DISK_FULL',
        `${stored}: its disk is full (statvfs@openssh.com: ${formatBytes(space.availableBytes)} free for this user in ${directory}). Free space on the server or raise the SFTP user's quota; the partial file was removed, a later attempt uploads it again`,
      );
    }
    const measured = space === undefined ? '' : ` (statvfs@openssh.com reports ${formatBytes(space.availableBytes)} free, so a quota is more likely)`;
    return new RetentionError(
      'ERR_TARGET_SIZE_MISMATCH',
      `${stored}: the server's disk is probably full or the SFTP user's quota used up${measured}. Check the free space and the quota on the server; the partial file was removed, a later attempt uploads it again`,
    );
  }

  /**
   * Renames the checked `.part` to its final name: atomically with `posix-rename@openssh.com`, or, where the server
   * does not offer it or refuses it, with {@link replaceSafely}.
   */
  private async placeFile(conn: Connection, partPath: string, finalPath: string, remotePath: string, progress: () => void): Promise<void> {
    try {
      await this.request(conn, (cb) => conn.sftp.ext_openssh_rename(partPath, finalPath, cb));
      progress();
      await this.announce({ step: 'in-place', remotePath });
      return;
    } catch (err) {
      if (conn.lost || isMissing(err)) throw err;
    }
    await this.replaceSafely(conn, partPath, finalPath, remotePath, progress);
  }

  /**
   * A replace that never deletes the only copy: a plain rename when `<name>` does not exist; otherwise `<name>` to its
   * recovery name, `.part` to `<name>`, recovery copy deleted; a failed second rename renames the recovery copy back.
   * A recovery copy that cannot be deleted (the connection dropped just then) is left for the next run to remove.
   */
  private async replaceSafely(conn: Connection, partPath: string, finalPath: string, remotePath: string, progress: () => void): Promise<void> {
    try {
      await this.request(conn, (cb) => conn.sftp.rename(partPath, finalPath, cb));
      progress();
      await this.announce({ step: 'in-place', remotePath });
      return;
    } catch (err) {
      if (conn.lost || !(await this.exists(conn, finalPath))) throw err;
    }
    const recoveryName = recoveryNameFor(posix.basename(finalPath), new Date());
    const recoveryPath = posix.join(posix.dirname(finalPath), recoveryName);
    const recoveryRemotePath = posix.join(posix.dirname(remotePath), recoveryName);
    await this.request(conn, (cb) => conn.sftp.rename(finalPath, recoveryPath, cb));
    progress();
    await this.announce({ step: 'previous-set-aside', remotePath, recoveryPath: recoveryRemotePath });
    try {
      await this.request(conn, (cb) => conn.sftp.rename(partPath, finalPath, cb));
    } catch (err) {
      if (conn.lost) throw err;
      const restored = await this.request(conn, (cb) => conn.sftp.rename(recoveryPath, finalPath, cb)).then(
        () => true,
        () => false,
      );
      if (restored) throw err;
      throw new RetentionError(
        'ERR_TARGET_IO',
        `SFTP server ${this.host}:${this.port} refused to rename the new ${remotePath} into place (${err instanceof Error ? err.message : String(err)}) and then to rename the delivered file back from ${recoveryRemotePath}: the delivered bytes are kept under that recovery name, and the next attempt or the tenant's next run puts them back`,
        { cause: err },
      );
    }
    progress();
    await this.announce({ step: 'in-place', remotePath, recoveryPath: recoveryRemotePath });
    try {
      await this.request(conn, (cb) => conn.sftp.unlink(recoveryPath, cb));
    } catch {
      return;
    }
    await this.announce({ step: 'recovery-copy-removed', remotePath, recoveryPath: recoveryRemotePath });
  }
}
