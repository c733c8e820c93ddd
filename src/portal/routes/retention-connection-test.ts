import type { AuditEvent } from '../../audit/audit-entry.js';
import type { HostKeyPin } from '../../delivery/host-key-pin.js';
import { probeSftpHostKeys } from '../../delivery/probe-sftp-host-key.js';
import { RetentionError } from '../../errors.js';
import { DESTINATION_NOT_ALLOWED, type NetworkPolicy } from '../../network/network-policy.js';
import { retentionSettingsSchema, type RetentionSettings } from '../../tenants/retention-settings.js';
import { HOST_KEY_FIELDS, compareHostKeys, readHostKeyPins, type HostKeyComparison } from './host-key-pin-form.js';

/** What *Test connection* found, as the page shows it. */
export interface ConnectionTest {
  ok: boolean;
  host: string;
  port: number;
  /** When the server was reached: every host key it has, compared with the pins. */
  hostKeys?: HostKeyComparison;
  error?: string;
  /** The error's stable code when the test failed. */
  code?: string;
}

/** The server to test and the pins to compare its keys with, or what the form must fix first. */
export type ConnectionTestRequest =
  { ok: true; host: string; port: number; pins: (HostKeyPin | undefined)[] } | { ok: false; fieldErrors: Record<string, string[]>; problems: string[] };

const sftpHost = retentionSettingsSchema.shape.target.options[0].shape.host;

/**
 * Reads what *Test connection* tests from the submitted form values: the host and port typed (else the stored SFTP
 * target's), and the pins typed in the form or, where its first pin field is empty, the stored ones.
 *
 * @example
 * const request = readConnectionTest(state.values, stored?.value);
 * if (!request.ok) return render(res, state, stored, request, 400);
 */
export function readConnectionTest(values: Readonly<Record<string, string | undefined>>, stored: RetentionSettings | undefined): ConnectionTestRequest {
  const storedTarget = stored?.target.kind === 'sftp' ? stored.target : undefined;
  const host = values['target.host'] || storedTarget?.host || '';
  const portText = values['target.port'] || String(storedTarget?.port ?? 22);
  const typed = readHostKeyPins(values);
  const hostCheck = sftpHost.safeParse(host);
  const port = Number(portText);
  const badPort = !/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535;
  const fieldErrors: Record<string, string[]> = { ...typed.fieldErrors };
  const problems: string[] = [];
  if (!hostCheck.success) fieldErrors['target.host'] = ["enter the SFTP server's host name or IP address to test"];
  if (badPort) fieldErrors['target.port'] = ['a port from 1 to 65535'];
  if (!hostCheck.success || badPort) problems.push('Enter a host and port to test the connection.');
  if (Object.keys(typed.fieldErrors).length > 0)
    problems.push("Correct the host-key pins to compare them with the server's keys, or empty them to see which key to pin.");
  if (problems.length > 0) return { ok: false, fieldErrors, problems };
  const storedFirst: HostKeyPin | undefined =
    storedTarget === undefined
      ? undefined
      : { fingerprint: storedTarget.hostKeyFingerprint, ...(storedTarget.hostKeyType !== undefined ? { type: storedTarget.hostKeyType } : {}) };
  const pins = values[HOST_KEY_FIELDS.fingerprint] !== '' ? [typed.first, typed.second] : [storedFirst, typed.second ?? storedTarget?.secondHostKey];
  return { ok: true, host, port, pins };
}

/**
 * Reads every host key of the SFTP server (within the operator's network policy: a refused host is never dialled) and
 * compares them with the pins. A failure is part of the answer, not thrown.
 *
 * @example
 * const connection = await testSftpConnection(request, destinations.network);
 */
export async function testSftpConnection(request: Extract<ConnectionTestRequest, { ok: true }>, network: NetworkPolicy): Promise<ConnectionTest> {
  const { host, port } = request;
  try {
    const keys = await probeSftpHostKeys({ host, port, timeoutMs: 10_000, network });
    return { ok: true, host, port, hostKeys: compareHostKeys(keys, request.pins) };
  } catch (err) {
    if (!(err instanceof RetentionError)) throw err;
    return { ok: false, host, port, error: err.message, code: err.code };
  }
}

/**
 * The `settings.connection-tested` audit event of a test (without its actor): the key the server shows a client that
 * asks for no particular type, then every key it has, and whether they match the pins.
 *
 * @example
 * await services.audit(req, tenantId, { actor, ...connectionTestedEvent(connection) });
 */
export function connectionTestedEvent(connection: ConnectionTest): Omit<AuditEvent, 'actor' | 'ip' | 'userAgent'> {
  const compared = connection.hostKeys;
  return {
    action: 'settings.connection-tested',
    outcome: connection.ok ? 'success' : 'failure',
    target: `sftp://${connection.host}:${connection.port}`,
    details: {
      fingerprint: compared?.keys[0]?.fingerprint ?? null,
      fingerprints: compared === undefined ? null : compared.keys.map((key) => key.pinText).join(','),
      matchesPinned: compared?.matches ?? null,
      matchedPins:
        compared === undefined || compared.pins.length === 0
          ? null
          : compared.pins
              .filter((pin) => pin.found)
              .map((pin) => pin.slot)
              .join(','),
      error: connection.error?.slice(0, 300) ?? null,
      reason: connection.code ?? null,
    },
  };
}

/**
 * How the page answers a test: 200 when the server was reached, 502 when not, and 400 with the error on the host
 * field when the operator's policy refused the host.
 *
 * @example
 * const { status, fieldErrors } = connectionTestAnswer(connection);
 */
export function connectionTestAnswer(connection: ConnectionTest): { status: number; fieldErrors?: Record<string, string[]> } {
  if (connection.code === DESTINATION_NOT_ALLOWED)
    return { status: 400, fieldErrors: { 'target.host': [`${connection.error ?? ''} (${DESTINATION_NOT_ALLOWED})`] } };
  return { status: connection.ok ? 200 : 502 };
}
