import { UnrecoverableError } from 'bullmq';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, isErrorCode, type ErrorCode } from '../../../src/error-catalogue.js';
import { isPermanentError, RetentionError } from '../../../src/errors.js';
import { refusesManifest } from '../../../src/import/import-errors.js';
import { isPermanentFailure, toJobError } from '../../../src/queue/permanent-failure.js';

const CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
/** Codes of libraries Retention reads (ssh2, node:util parseArgs), never its own. */
const FOREIGN_CODES = new Set(['ERR_GENERIC_CLIENT', 'ERR_NOT_CONNECTED', 'ERR_PARSE_ARGS']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}
const sources = [...sourceFiles('src'), ...sourceFiles('worker')]
  .filter((path) => !path.endsWith('error-catalogue.ts'))
  .map((path) => ({ path, text: readFileSync(path, 'utf8') }));

describe('the error catalogue', () => {
  it.each(CODES)('%s: the status and permanence an error with it gets are the catalogue’s', (code) => {
    const spec = ERROR_CATALOGUE[code];
    const err = new RetentionError(code, 'message');
    expect(err.code).toBe(code);
    expect(err.status).toBe(spec.status);
    expect(spec.status).toBeGreaterThanOrEqual(400);
    expect(spec.status).toBeLessThan(600);
    expect(isPermanentError(err)).toBe(spec.permanent);
    expect(isPermanentFailure(err)).toBe(spec.permanent);
    expect(toJobError(err) instanceof UnrecoverableError).toBe(spec.permanent);
    if (spec.permanent) expect(toJobError(err).message).toBe(`[${code}] message`);
    expect(refusesManifest(err)).toBe('refusesManifest' in spec);
    if ('refusesManifest' in spec) expect(spec.permanent).toBe(true);
    expect(isErrorCode(code)).toBe(true);
  });

  it('lists every code the code base names, and names no code the code base never uses', () => {
    const named = new Set(sources.flatMap(({ text }) => [...text.matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)].map((match) => match[1] as string)));
    const unknown = [...named].filter((code) => !isErrorCode(code) && !FOREIGN_CODES.has(code));
    expect(unknown).toEqual([]);
    const unused = CODES.filter((code) => !named.has(code));
    expect(unused).toEqual([]);
  });

  it('is sorted, so a new code has one obvious place', () => {
    expect(CODES).toEqual([...CODES].sort());
  });

  it('refuses what is not a code', () => {
    expect(isErrorCode('ERR_NO_SUCH_THING')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });
});
