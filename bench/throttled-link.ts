import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Target, TargetEntry, UploadExpectation } from '../src/delivery/target.js';

/**
 * A TCP relay on loopback in front of `to` whose upstream direction (client to server: the upload) carries at most
 * `bytesPerSecond`, as a customer's SFTP server behind a slower link would. The other direction is not limited.
 */
export interface ThrottledLink {
  port: number;
  close(): Promise<void>;
}

export async function startThrottledLink(to: { host: string; port: number }, bytesPerSecond: number): Promise<ThrottledLink> {
  if (!(bytesPerSecond > 0)) throw new Error(`a link needs a positive rate, got ${bytesPerSecond} bytes/s`);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(to.port, to.host);
    sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) socket.once('close', end).on('error', end);
    upstream.pipe(client);
    // Each chunk leaves once the link has carried everything before it; the client is paused meanwhile, so the
    // chunks keep their order and TCP's own flow control slows the sender.
    let free = performance.now();
    client.on('data', (chunk: Buffer) => {
      const now = performance.now();
      free = Math.max(free, now) + (chunk.length / bytesPerSecond) * 1000;
      const wait = free - now;
      if (wait < 1) {
        upstream.write(chunk);
        return;
      }
      client.pause();
      setTimeout(() => {
        if (upstream.destroyed) return; // the connection ended while the chunk waited for the link
        upstream.write(chunk);
        client.resume();
      }, wait);
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * `inner` without `uploadGrowing`: every file uploads once it is complete, as on a target that cannot follow a file
 * (the comparison for uploads that follow the file while it is written).
 */
export class WholeFileUploads implements Target {
  readonly kind: string;
  constructor(private readonly inner: Target) {
    this.kind = inner.kind;
  }
  async prepare(): Promise<void> {
    await this.inner.prepare?.();
  }
  uploadAtomically(localPath: string, remotePath: string, expected: UploadExpectation): Promise<void> {
    return this.inner.uploadAtomically(localPath, remotePath, expected);
  }
  read(remotePath: string): Promise<Readable> {
    return this.inner.read(remotePath);
  }
  list(remoteDir: string): Promise<TargetEntry[]> {
    return this.inner.list(remoteDir);
  }
  stat(remotePath: string): Promise<TargetEntry | undefined> {
    return this.inner.stat(remotePath);
  }
  remove(remotePath: string): Promise<void> {
    return this.inner.remove(remotePath);
  }
  rename(fromPath: string, toPath: string): Promise<void> {
    return this.inner.rename(fromPath, toPath);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
