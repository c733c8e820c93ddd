import { readFileSync } from 'node:fs';

/** Where the CLI writes and what it reads; tests pass their own. */
export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  readFile: (path: string) => string;
  now: () => Date;
}

/** The real process's IO. */
export const processIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  readFile: (path) => readFileSync(path, 'utf8'),
  now: () => new Date(),
};
