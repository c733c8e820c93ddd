import { GESFTP_PEER } from './gesftp-server.js';
import { OPENSSH_PEERS } from './openssh-variants.js';
import { PROFTPD_PEERS } from './proftpd-server.js';
import type { SftpPeerDefinition } from './sftp-peer.js';

/**
 * Every real SFTP server the Target contract runs against (`test/integration/delivery/target-peer-matrix.test.ts`),
 * each built from Debian's packages: OpenSSH variants, ProFTPD mod_sftp in three configurations, gesftpserver.
 */
export const SFTP_PEERS: readonly SftpPeerDefinition[] = [...OPENSSH_PEERS, ...PROFTPD_PEERS, GESFTP_PEER];
