import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../src/audit/audit-entry.js';
import { cefSeverity, escapeCefExtension, escapeCefHeader, formatCefEntry } from '../../../src/audit/cef.js';

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  tenantId: 'acme',
  seq: 42,
  at: new Date('2026-01-01T00:00:00.000Z'),
  actor: { type: 'user', id: 'jo@acme.example' },
  action: 'auth.login',
  outcome: 'failure',
  ip: '192.0.2.7',
  userAgent: 'Mozilla/5.0',
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
  ...overrides,
});

/** Splits a CEF line the way a SIEM does: 7 header fields on unescaped `|`, then `key=value` pairs on unescaped `=`. */
function parseCef(line: string): { header: string[]; extension: Record<string, string> } {
  const header: string[] = [];
  let i = 0;
  let field = '';
  while (header.length < 7) {
    const c = line[i] ?? '';
    if (c === '\\') {
      field += line[i + 1] ?? '';
      i += 2;
    } else if (c === '|') {
      header.push(field);
      field = '';
      i += 1;
    } else {
      field += c;
      i += 1;
    }
  }
  const rest = line.slice(i);
  const extension: Record<string, string> = {};
  const pairs = rest.split(/ (?=[A-Za-z0-9]+=)/);
  for (const pair of pairs) {
    const eq = pair.search(/(?<!\\)=/);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    extension[key] = raw.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch));
  }
  return { header, extension };
}

describe('CEF escaping', () => {
  it('SECURITY.md case: header value Foo|Bar\\ becomes Foo\\|Bar\\\\', () => {
    expect(escapeCefHeader('Foo|Bar\\')).toBe('Foo\\|Bar\\\\');
  });

  it('SECURITY.md case: extension value a=b\\c|d LF X becomes a\\=b\\\\c|d\\nX', () => {
    expect(escapeCefExtension('a=b\\c|d\nX')).toBe('a\\=b\\\\c|d\\nX');
  });

  it.each([
    ['plain', 'plain', 'plain'],
    ['a|b', 'a\\|b', 'a|b'],
    ['a\\b', 'a\\\\b', 'a\\\\b'],
    ['a=b', 'a=b', 'a\\=b'],
    ['line1\nline2', 'line1 line2', 'line1\\nline2'],
    ['line1\rline2', 'line1 line2', 'line1\\rline2'],
    ['line1\r\nline2', 'line1  line2', 'line1\\r\\nline2'],
    ['tab\there', 'tab here', 'tab here'],
    ['nul\u0000byte', 'nul byte', 'nul byte'],
    ['del\u007f', 'del ', 'del '],
    ['\\|', '\\\\\\|', '\\\\|'],
    ['\\=', '\\\\=', '\\\\\\='],
    ['x\\nX', 'x\\\\nX', 'x\\\\nX'],
    ['CEF:0|evil|x', 'CEF:0\\|evil\\|x', 'CEF:0|evil|x'],
    ['ünïcødé ✓', 'ünïcødé ✓', 'ünïcødé ✓'],
  ])('ASVS 5.0 16.4.1 (no log injection): %j → header %j, extension %j', (input, header, extension) => {
    expect(escapeCefHeader(input)).toBe(header);
    expect(escapeCefExtension(input)).toBe(extension);
  });
});

describe('formatCefEntry', () => {
  it('formats the header and the extension keys', () => {
    const line = formatCefEntry(entry({ target: 'user:u1', details: { reason: 'bad-password', attempt: 3 } }), { version: '0.1.0', host: 'portal-1' });
    expect(line).toBe(
      'CEF:0|Retention|Retention Portal|0.1.0|auth.login|auth.login failure|5|' +
        'rt=1767225600000 act=auth.login outcome=failure suser=jo@acme.example src=192.0.2.7 requestClientApplication=Mozilla/5.0 ' +
        `externalId=42 cs1Label=chainHash cs1=${'b'.repeat(64)} cs2Label=tenant cs2=acme cs3Label=target cs3=user:u1 ` +
        'cs4Label=actorType cs4=user msg=attempt\\=3 reason\\=bad-password dvchost=portal-1',
    );
    expect(line).not.toMatch(/[\r\n]/);
  });

  it('ASVS 5.0 16.2.2: rt is the UTC instant in milliseconds since the epoch', () => {
    const { extension } = parseCef(formatCefEntry(entry({ at: new Date('2026-03-29T01:30:00.123+02:00') }), { version: '1' }));
    expect(extension.rt).toBe(String(Date.UTC(2026, 2, 28, 23, 30, 0, 123)));
  });

  it('leaves out src when the recorded address is not an IP, and absent optional fields', () => {
    const line = formatCefEntry(entry({ ip: 'unknown', userAgent: undefined, target: undefined, details: undefined }), { version: '1' });
    expect(line).not.toMatch(/ src=| requestClientApplication=| cs3=| cs3Label=| msg=| dvchost=/);
    expect(formatCefEntry(entry({ ip: '2001:db8::1' }), { version: '1' })).toContain(' src=2001:db8::1 ');
  });

  it('reports denied as outcome=failure with reason=denied', () => {
    const { header, extension } = parseCef(formatCefEntry(entry({ outcome: 'denied', action: 'ip.blocked' }), { version: '1' }));
    expect(header[5]).toBe('ip.blocked denied');
    expect(extension.outcome).toBe('failure');
    expect(extension.reason).toBe('denied');
  });

  it.each([
    ['actor id', { actor: { type: 'user' as const, id: 'x=1 act=forged\nCEF:0|a|b|c|d|e|10|' } }, 'suser'],
    ['user agent', { userAgent: 'curl\r\nrt=0 | \\ =' }, 'requestClientApplication'],
    ['target', { target: 'a\\=b|c=d' }, 'cs3'],
  ])('ASVS 5.0 16.4.1: a hostile %s cannot forge fields or lines', (_what, overrides, key) => {
    const original = entry(overrides);
    const line = formatCefEntry(original, { version: '1' });
    expect(line.split('\n')).toHaveLength(1);
    const { header, extension } = parseCef(line);
    expect(header[0]).toBe('CEF:0');
    expect(header[6]).toBe('5');
    expect(extension.act).toBe('auth.login');
    expect(extension.rt).toBe('1767225600000');
    const value = key === 'suser' ? original.actor.id : key === 'requestClientApplication' ? original.userAgent : original.target;
    expect(extension[key]).toBe(value);
  });

  it('escapes hostile header values: vendor, version and action', () => {
    const line = formatCefEntry(entry({ action: 'x|y\\z\nw' }), { version: '1|2', vendor: 'V\\' });
    const { header, extension } = parseCef(line);
    expect(header).toEqual(['CEF:0', 'V\\', 'Retention Portal', '1|2', 'x|y\\z w', 'x|y\\z w failure', '5']);
    expect(extension.act).toBe('x|y\\z\nw');
  });

  it('uses only alphanumeric extension keys', () => {
    const line = formatCefEntry(entry({ target: 't', details: { 'weird key=': 'v' } }), { version: '1', host: 'h' });
    const keys = Object.keys(parseCef(line).extension);
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9]+$/);
  });
});

describe('cefSeverity', () => {
  it.each([
    ['auth.login', 'success', 2],
    ['record.viewed', 'success', 2],
    ['auth.login', 'failure', 5],
    ['auth.2fa.verify', 'failure', 5],
    ['ip.blocked', 'denied', 6],
    ['auth.lockout', 'success', 8],
    ['auth.totp.replay', 'failure', 8],
    ['audit.chain.broken', 'failure', 8],
    ['auth.password.changed', 'success', 4],
    ['auth.2fa.disabled', 'success', 4],
    ['auth.backup-code.used', 'success', 4],
    ['settings.allowlist.changed', 'success', 4],
    ['settings.policy.changed', 'success', 4],
    ['user.invited', 'success', 4],
  ] as const)('%s %s → %i', (action, outcome, severity) => {
    expect(cefSeverity({ action, outcome })).toBe(severity);
  });
});
