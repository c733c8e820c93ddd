import type { AuditEvent } from '../../audit/audit-entry.js';
import type { HostKeyPin } from '../../delivery/host-key-pin.js';
import { probeSftpHostKeys } from '../../delivery/probe-sftp-host-key.js';
import { RetentionError } from '../../errors.js';
import { DESTINATION_NOT_ALLOWED, type NetworkPolicy } from '../../network/network-policy.js';
import { retentionSettingsSchema, type RetentionSettings } from '../../tenants/retention-settings.js';
import { RETENTION_SETTING_RULES, SETTINGS_NUMBER_RANGES } from '../../tenants/retention-settings-rules.js';
import { SETTINGS_INVALID, type SettingsProblem } from '../../tenants/retention-settings-service.js';
import { acceptsWholeNumber, describeRefusedValue } from '../../validation/refused-value.js';
import { HOST_KEY_FIELDS, compareHostKeys, readHostKeyPins, type HostKeyComparison } from './host-key-pin-form.js';
import { problemsOfFieldErrors } from './retention-settings-fields.js';

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
  { ok: true; host: string; port: number; pins: (HostKeyPin | undefined)[] } | { ok: false; fieldProblems: SettingsProblem[]; problems: string[] };

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
  const { min, max } = SETTINGS_NUMBER_RANGES['target.port'];
  const badPort = !/^\d{1,5}$/.test(portText) || port < min || port > max;
  const fieldProblems: SettingsProblem[] = [];
  const problems: string[] = [];
  const refuse = (field: string, typedValue: string, accepted: string) =>
    fieldProblems.push({ field, code: SETTINGS_INVALID, message: describeRefusedValue(typedValue, accepted) });
  if (!hostCheck.success) refuse('target.host', host, `${RETENTION_SETTING_RULES['target.host'] ?? ''}, to test`);
  if (badPort) refuse('target.port', portText, acceptsWholeNumber(min, max));
  if (!hostCheck.success || badPort) problems.push('Enter a host and port to test the connection.');
  fieldProblems.push(...problemsOfFieldErrors(typed.fieldErrors));
  if (Object.keys(typed.fieldErrors).length > 0)
    problems.push("Correct the host-key pins to compare them with the server's keys, or empty them to see which key to pin.");
  if (problems.length > 0) return { ok: false, fieldProblems, problems };
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
 * How the page answers a test: 200 when the server was reached, 502 when not, and 400 with the error (and its code)
 * on the host field when the operator's policy refused the host.
 *
 * @example
 * const { status, fieldProblems } = connectionTestAnswer(connection);
 */
export function connectionTestAnswer(connection: ConnectionTest): { status: number; fieldProblems?: SettingsProblem[] } {
  if (connection.code === DESTINATION_NOT_ALLOWED)
    return { status: 400, fieldProblems: [{ field: 'target.host', code: DESTINATION_NOT_ALLOWED, message: connection.error ?? '' }] };
  return { status: connection.ok ? 200 : 502 };
}
