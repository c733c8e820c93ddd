import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: 'ENOENT' });
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env, noFiles);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected loadConfig to fail');
}

describe('configuration of tenant destinations (issue #10.6)', () => {
  it('allows no private destination and no local target by default (production-safe)', () => {
    const config = loadConfig({}, noFiles);
    expect(config.allowedPrivateDestinations).toEqual({ ranges: [], hostNames: [] });
    expect(config.localTargetBaseDir).toBeUndefined();
  });

  it('reads ALLOWED_PRIVATE_DESTINATIONS as blocks and host names, and LOCAL_TARGET_BASE_DIR as a directory', () => {
    const config = loadConfig({ ALLOWED_PRIVATE_DESTINATIONS: '10.20.0.0/16, fd12:3456::/48, sftp', LOCAL_TARGET_BASE_DIR: '/srv/retention' }, noFiles);
    expect(config.allowedPrivateDestinations.ranges.map((range) => range.cidr)).toEqual(['10.20.0.0/16', 'fd12:3456::/48']);
    expect(config.allowedPrivateDestinations.hostNames).toEqual(['sftp']);
    expect(config.localTargetBaseDir).toBe('/srv/retention');
  });

  it.each([
    ['ALLOWED_PRIVATE_DESTINATIONS', '10.0.0.1/8', 'did you mean 10.0.0.0/8?'],
    ['ALLOWED_PRIVATE_DESTINATIONS', 'true', 'is not a switch'],
    ['ALLOWED_PRIVATE_DESTINATIONS', 'sftp, bad host', 'neither an address'],
    ['LOCAL_TARGET_BASE_DIR', 'relative/dir', 'an absolute directory path'],
    ['LOCAL_TARGET_BASE_DIR', '/srv/../etc', 'without ".." segments'],
  ])('refuses %s=%j with a message naming the variable', (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: expected `));
    expect(problems[0]).toContain(message);
  });
});
