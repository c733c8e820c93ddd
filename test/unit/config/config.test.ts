import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../../src/config.js';

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: 'ENOENT' });
};

function problemsOf(env: Record<string, string>, readFile = noFiles): readonly string[] {
  try {
    loadConfig(env, readFile);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('ERR_CONFIG_INVALID');
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to fail');
}

describe('loadConfig', () => {
  it('builds a frozen config with documented defaults from an empty environment', () => {
    const config = loadConfig({}, noFiles);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config).toMatchObject({
      nodeEnv: 'production',
      redisUrl: 'redis://127.0.0.1:6379',
      mongodbUrl: 'mongodb://127.0.0.1:27017',
      mongodbDatabase: 'retention',
      port: 3000,
      trustProxy: false,
      settleLagMs: 300_000,
      workerConcurrency: 4,
      masterKeys: undefined,
    });
  });

  it('parses explicit values and converts units', () => {
    const config = loadConfig(
      {
        PORT: '8443',
        SETTLE_LAG_SECONDS: '60',
        TRUST_PROXY: '10.0.0.0/8, ::1',
        RETENTION_MASTER_KEYS: `k1:${key(1)},k2:${key(2)}`,
        RETENTION_ACTIVE_KEY_ID: 'k2',
        PUBLIC_URL: 'https://retention.example.com/',
      },
      noFiles,
    );
    expect(config.port).toBe(8443);
    expect(config.settleLagMs).toBe(60_000);
    expect(config.trustProxy).toEqual(['10.0.0.0/8', '::1']);
    expect(config.activeKeyId).toBe('k2');
    expect(config.publicUrl).toBe('https://retention.example.com');
  });

  it('defaults the active key to the first master key', () => {
    expect(loadConfig({ RETENTION_MASTER_KEYS: `a:${key(1)},b:${key(2)}` }, noFiles).activeKeyId).toBe('a');
  });

  it('reads secrets from *_FILE and trims the trailing newline', () => {
    const files: Record<string, string> = { '/run/secrets/keys': `k1:${key(7)}\n`, '/run/secrets/mongo': 'mongodb://u:p@db:27017\n' };
    const config = loadConfig({ RETENTION_MASTER_KEYS_FILE: '/run/secrets/keys', MONGODB_URL_FILE: '/run/secrets/mongo' }, (p) => {
      const content = files[p];
      if (content === undefined) throw new Error('missing');
      return content;
    });
    expect(config.masterKeys).toBe(`k1:${key(7)}`);
    expect(config.mongodbUrl).toBe('mongodb://u:p@db:27017');
  });

  it('takes PASSWORD_MIN_LENGTH_FLOOR from 8 to 12, default 12 (issue 10.12)', () => {
    expect(loadConfig({}, noFiles).passwordMinLengthFloor).toBe(12);
    expect(loadConfig({ PASSWORD_MIN_LENGTH_FLOOR: '8' }, noFiles).passwordMinLengthFloor).toBe(8);
  });

  it.each([
    ['PASSWORD_MIN_LENGTH_FLOOR', '7'],
    ['PASSWORD_MIN_LENGTH_FLOOR', '13'],
    ['PORT', '0'],
    ['PORT', '70000'],
    ['PORT', 'eighty'],
    ['PORT', '80.5'],
    ['LOG_LEVEL', 'verbose'],
    ['NODE_ENV', 'staging'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'not a url'],
    ['MONGODB_URL', 'postgres://localhost/db'],
    ['MONGODB_DATABASE', 'retention.prod'],
    ['MONGODB_DATABASE', 'a/b'],
    ['MONGODB_ARCHIVE_DB_PREFIX', 'x$'],
    ['QUEUE_PREFIX', 'bad:prefix'],
    ['PUBLIC_URL', 'ftp://example.com'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', 'everyone'],
    ['DEFAULT_TENANT', 'Acme'],
    ['DEFAULT_TENANT', '../etc'],
    ['WORKER_CONCURRENCY', '0'],
    ['WORKER_SFTP_HOST_CONCURRENCY', '-1'],
    ['SETTLE_LAG_SECONDS', '999999'],
    ['SHUTDOWN_TIMEOUT_SECONDS', ''.padEnd(5, '9')],
    ['RETENTION_MASTER_KEYS', 'k1:tooshort'],
    ['RETENTION_MASTER_KEYS', key(1)],
    ['RETENTION_MASTER_KEYS', `K1:${key(1)}`],
    ['RETENTION_MASTER_KEYS', `k1:${key(1)},k1:${key(2)}`],
    ['METRICS_TOKEN', 'x'.repeat(31)],
    ['METRICS_TOKEN', `${'x'.repeat(32)} with spaces`],
    ['METRICS_TOKEN', `${'x'.repeat(32)}"`],
    ['METRICS_TOKEN', `${'x'.repeat(32)}\n${'y'.repeat(32)}`],
  ])('refuses %s=%j with a message naming the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: expected `));
  });

  it('leaves /metrics off without METRICS_TOKEN and reads it directly or from METRICS_TOKEN_FILE', () => {
    const token = key(9);
    expect(loadConfig({}, noFiles).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: token }, noFiles).metricsToken).toBe(token);
    const fromFile = loadConfig({ METRICS_TOKEN_FILE: '/run/secrets/metrics-token' }, (p) => {
      if (p !== '/run/secrets/metrics-token') throw new Error('missing');
      return `${token}\n`;
    });
    expect(fromFile.metricsToken).toBe(token);
    expect(problemsOf({ METRICS_TOKEN: token, METRICS_TOKEN_FILE: '/x' })[0]).toMatch(/^METRICS_TOKEN: set either/);
    expect(problemsOf({ METRICS_TOKEN_FILE: '/nope' })[0]).toMatch(/^METRICS_TOKEN_FILE: cannot read "\/nope" \(ENOENT\)/);
    const [problem] = problemsOf({ METRICS_TOKEN: 'short-secret-token' });
    expect(problem).not.toContain('short-secret-token');
    expect(problem).toContain('(value hidden)');
  });

  it('never prints the value of a secret variable', () => {
    const secret = 'k1:supersecretvalue';
    const [problem] = problemsOf({ RETENTION_MASTER_KEYS: secret });
    expect(problem).not.toContain('supersecretvalue');
    expect(problem).toContain('(value hidden)');
  });

  it('refuses an active key id that is not in the ring', () => {
    expect(problemsOf({ RETENTION_MASTER_KEYS: `k1:${key(1)}`, RETENTION_ACTIVE_KEY_ID: 'k9' })).toEqual([
      'RETENTION_ACTIVE_KEY_ID: expected a key id present in RETENTION_MASTER_KEYS',
    ]);
  });

  it('refuses a secret set both directly and through a file, and an unreadable file', () => {
    expect(problemsOf({ MONGODB_URL: 'mongodb://a', MONGODB_URL_FILE: '/x' })[0]).toMatch(/^MONGODB_URL: set either/);
    expect(problemsOf({ REDIS_URL_FILE: '/nope' })[0]).toMatch(/^REDIS_URL_FILE: cannot read "\/nope" \(ENOENT\)/);
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'loud', TRUST_PROXY: 'true' })).toHaveLength(3);
  });
});

describe('configuration reference', () => {
  it('documents every variable in README.md', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const undocumented = Object.keys(CONFIG_VARIABLES).filter((name) => !readme.includes(`| \`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it('documents no variable that does not exist', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));
    const documented = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((name) => !(name! in CONFIG_VARIABLES))).toEqual([]);
  });
});
