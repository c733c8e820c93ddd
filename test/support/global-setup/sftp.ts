import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { SSHD_PATH, reapStaleSftpServers, startSftpServer, type SftpServerFacts } from '../sftp-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared test SFTP server (OpenSSH). Tests that kill or restart a server start their own. */
    sftp: SftpServerFacts;
  }
}

/** Starts one shared private sshd for the whole run and hands its connection facts to the tests as `inject('sftp')`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(SSHD_PATH)) {
    throw new Error(`${SSHD_PATH} is missing: the SFTP tests need OpenSSH's server, install it with "apt-get install openssh-server"`);
  }
  const reaped = await reapStaleSftpServers();
  if (reaped > 0) console.log(`[global-setup] SFTP: removed ${reaped} test server(s) left behind by killed test runs`);
  const server = await startSftpServer();
  console.log(`[global-setup] SFTP: sshd at ${server.username}@${server.host}:${server.port}, root ${server.root}`);
  project.provide('sftp', {
    host: server.host,
    port: server.port,
    username: server.username,
    root: server.root,
    clientPrivateKey: server.clientPrivateKey,
    hostKeyFingerprint: server.hostKeyFingerprint,
  });
  return () => server.destroy();
}
