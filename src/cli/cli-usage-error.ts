import { RetentionError } from '../errors.js';

/**
 * A command line the CLI cannot act on (`ERR_CLI_USAGE`, exit code 2); the CLI prints the message and the usage of
 * every command.
 *
 * @example
 * throw new CliUsageError('expected exactly one tenant id');
 */
export class CliUsageError extends RetentionError {
  constructor(message: string) {
    super('ERR_CLI_USAGE', message);
    this.name = 'CliUsageError';
  }
}
