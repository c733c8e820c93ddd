import { isIP } from 'node:net';
import type { AuditEntry } from './audit-entry.js';

/** The device fields of every CEF header. */
export interface CefDevice {
  /** Default `Retention`. */
  vendor?: string;
  /** Default `Retention Portal`. */
  product?: string;
  /** The running version, e.g. package.json's. */
  version: string;
  /** Host name of the portal, sent as `dvchost` when given. */
  host?: string;
}

/**
 * Escapes a CEF header field: `\` → `\\`, `|` → `\|`. Header fields cannot carry line breaks, so CR, LF and every
 * other control character become a space (no log injection, ASVS 5.0 16.4.1).
 *
 * @example
 * escapeCefHeader('Foo|Bar\\') // 'Foo\\|Bar\\\\' (that is: Foo\|Bar\\)
 */
export function escapeCefHeader(value: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/**
 * Escapes a CEF extension value: `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n`; `|` stays as it is. Other control
 * characters (which CEF cannot express) become a space.
 *
 * @example
 * escapeCefExtension('a=b\\c|d\nX') // 'a\\=b\\\\c|d\\nX' (that is: a\=b\\c|d\nX)
 */
export function escapeCefExtension(value: string): string {
  return (
    value
      .replace(/[\\=]/g, (c) => `\\${c}`)
      .replace(/\r\n?|\n/g, (nl) => (nl === '\n' ? '\\n' : nl === '\r' ? '\\r' : '\\r\\n'))
      // eslint-disable-next-line no-control-regex -- replacing control characters is the point
      .replace(/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f]/g, ' ')
  );
}

/**
 * The CEF severity (0–10) of an entry:
 *
 * | entry | severity |
 * | --- | --- |
 * | action has a segment `lockout`, `locked`, `replay(ed)`, `tamper(ed)` or `chain` (e.g. `auth.lockout`) | 8 |
 * | outcome `denied` | 6 |
 * | outcome `failure` | 5 |
 * | success of a security change (`password`, `2fa`, `totp`, `backup-code`, `allowlist`, `policy`, `permission`, `invitation`, `user`, `session.revoke`) | 4 |
 * | any other success | 2 |
 *
 * @example
 * cefSeverity({ action: 'auth.login', outcome: 'failure' }) // 5
 */
export function cefSeverity(entry: Pick<AuditEntry, 'action' | 'outcome'>): number {
  const action = entry.action.toLowerCase();
  if (/(?:^|[._-])(?:lockout|locked|replay|replayed|tamper|tampered|chain)(?:[._-]|$)/.test(action)) return 8;
  if (entry.outcome === 'denied') return 6;
  if (entry.outcome === 'failure') return 5;
  if (/password|2fa|totp|backup-?code|allowlist|policy|permission|invitation|user|session\.revoke/.test(action)) return 4;
  return 2;
}

const OUTCOMES: Record<AuditEntry['outcome'], string> = { success: 'success', failure: 'failure', denied: 'failure' };

/**
 * Formats one audit entry as a CEF line (no trailing newline):
 * `CEF:0|Retention|Retention Portal|<version>|<action>|<action> <outcome>|<severity>|<extension>`.
 *
 * Extension keys: `rt` (ms since the epoch), `act` (action), `outcome` (`success` or `failure`; denied counts as a
 * failure and is named in `reason`), `suser` (actor id), `src` (client IP, only when it is an IP address),
 * `requestClientApplication` (user agent), `externalId` (sequence number in the tenant's chain), `cs1` chain hash,
 * `cs2` tenant, `cs3` target, `cs4` actor type, `msg` (details as `key=value` pairs, keys sorted), `dvchost`.
 *
 * @example
 * formatCefEntry(entry, { version: '0.1.0' })
 * // 'CEF:0|Retention|Retention Portal|0.1.0|auth.login|auth.login failure|5|rt=1767225600000 act=auth.login outcome=failure …'
 */
export function formatCefEntry(entry: AuditEntry, device: CefDevice): string {
  const header = [
    'CEF:0',
    escapeCefHeader(device.vendor ?? 'Retention'),
    escapeCefHeader(device.product ?? 'Retention Portal'),
    escapeCefHeader(device.version),
    escapeCefHeader(entry.action),
    escapeCefHeader(`${entry.action} ${entry.outcome}`),
    String(cefSeverity(entry)),
  ].join('|');
  const fields: [string, string | number | undefined][] = [
    ['rt', entry.at.getTime()],
    ['act', entry.action],
    ['outcome', OUTCOMES[entry.outcome]],
    ['reason', entry.outcome === 'denied' ? 'denied' : undefined],
    ['suser', entry.actor.id],
    ['src', entry.ip !== undefined && isIP(entry.ip) !== 0 ? entry.ip : undefined],
    ['requestClientApplication', entry.userAgent],
    ['externalId', entry.seq],
    ['cs1Label', 'chainHash'],
    ['cs1', entry.hash],
    ['cs2Label', 'tenant'],
    ['cs2', entry.tenantId],
    ['cs3Label', entry.target !== undefined ? 'target' : undefined],
    ['cs3', entry.target],
    ['cs4Label', 'actorType'],
    ['cs4', entry.actor.type],
    ['msg', formatDetails(entry.details)],
    ['dvchost', device.host],
  ];
  const extension = fields
    .filter((field): field is [string, string | number] => field[1] !== undefined && field[1] !== '')
    .map(([key, value]) => `${key}=${escapeCefExtension(String(value))}`)
    .join(' ');
  return `${header}|${extension}`;
}

function formatDetails(details: AuditEntry['details']): string | undefined {
  if (details === undefined) return undefined;
  const keys = Object.keys(details).sort();
  if (keys.length === 0) return undefined;
  return keys.map((key) => `${key}=${String(details[key])}`).join(' ');
}
