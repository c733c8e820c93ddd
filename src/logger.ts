import { pino, type Logger } from 'pino';

export type { Logger };

/** Field names whose values never reach a log line, wherever they appear (two levels deep). */
const SECRET_FIELDS = ['password', 'privateKey', 'passphrase', 'token', 'secret', 'masterKeys', 'authorization', 'cookie', 'mongoUri'];

/**
 * The process logger: JSON lines with UTC ISO timestamps, secrets redacted by field name.
 *
 * @example
 * const log = createLogger({ level: 'info', name: 'worker' });
 * log.info({ tenantId, runId }, 'run planned');
 */
export function createLogger(options: { level: string; name: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          ...SECRET_FIELDS,
          ...SECRET_FIELDS.map((f) => `*.${f}`),
          ...SECRET_FIELDS.map((f) => `*.*.${f}`),
          'req.headers.authorization',
          'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? process.stdout,
  );
}
