import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { DEFAULT_INFLATE_LIMITS } from '../../../src/import/record-file-reader.js';

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: 'ENOENT' });
};
const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env, noFiles);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to fail');
};

describe('import inflate limits', () => {
  it('default to the reader defaults, frozen', () => {
    const { importInflateLimits } = loadConfig({}, noFiles);
    expect(importInflateLimits).toEqual(DEFAULT_INFLATE_LIMITS);
    expect(Object.isFrozen(importInflateLimits)).toBe(true);
  });

  it('are read from IMPORT_MAX_INFLATED_BYTES, IMPORT_MAX_INFLATE_RATIO and IMPORT_INFLATE_RATIO_AFTER_BYTES', () => {
    const config = loadConfig(
      { IMPORT_MAX_INFLATED_BYTES: String(4 * 1024 ** 3), IMPORT_MAX_INFLATE_RATIO: '250', IMPORT_INFLATE_RATIO_AFTER_BYTES: '0' },
      noFiles,
    );
    expect(config.importInflateLimits).toEqual({ maxInflatedBytes: 4 * 1024 ** 3, maxInflateRatio: 250, ratioAfterBytes: 0 });
  });

  it.each([
    ['IMPORT_MAX_INFLATED_BYTES', '1000'],
    ['IMPORT_MAX_INFLATED_BYTES', '1GiB'],
    ['IMPORT_MAX_INFLATE_RATIO', '1'],
    ['IMPORT_MAX_INFLATE_RATIO', '2.5'],
    ['IMPORT_INFLATE_RATIO_AFTER_BYTES', '-1'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: expected a whole number from`));
  });
});
