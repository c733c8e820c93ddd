import { describe, expect, it } from 'vitest';
import { RetentionError } from '../../../src/errors.js';
import { HttpSource, type HttpSourceOptions } from '../../../src/sources/http-source.js';

const token = 'tok_s3cr3t-value';

function failure(options: HttpSourceOptions): RetentionError {
  try {
    new HttpSource(options);
  } catch (err) {
    if (err instanceof RetentionError) return err;
    throw err;
  }
  throw new Error('expected a RetentionError');
}

describe('HttpSource options', () => {
  it('builds page URLs under the base URL, keeping a path prefix', () => {
    const window = { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-01-02T00:00:00Z') };
    expect(new HttpSource({ baseUrl: 'https://api.example.com', token }).pageUrl('call-logs', window).toString()).toBe(
      'https://api.example.com/v1/exports/call-logs?since=2025-01-01T00%3A00%3A00.000Z&until=2025-01-02T00%3A00%3A00.000Z&limit=500',
    );
    const prefixed = new HttpSource({ baseUrl: 'https://api.example.com/tenant-a/', token, pageSize: 5000 });
    const url = prefixed.pageUrl('chats', window, 'a b&c');
    expect(url.pathname).toBe('/tenant-a/v1/exports/chats');
    expect(url.searchParams.get('limit')).toBe('5000');
    expect(url.searchParams.get('cursor')).toBe('a b&c');
    expect(url.toString()).not.toContain(token);
  });

  it.each<[string, Partial<HttpSourceOptions>, RegExp]>([
    ['a base URL that is not a URL', { baseUrl: 'api.example.com' }, /not a valid URL/],
    ['an ftp base URL', { baseUrl: 'ftp://api.example.com' }, /http:\/\/ or https:\/\//],
    ['a file base URL', { baseUrl: 'file:///etc/passwd' }, /http:\/\/ or https:\/\//],
    ['credentials in the base URL', { baseUrl: 'https://user:pw@api.example.com' }, /must not carry credentials/],
    ['a query in the base URL', { baseUrl: 'https://api.example.com/?x=1' }, /query or fragment/],
    ['a fragment in the base URL', { baseUrl: 'https://api.example.com/#x' }, /query or fragment/],
    ['an empty token', { token: '' }, /token must be/],
    ['a token with a newline', { token: `${token}\r\nX-Injected: 1` }, /token must be/],
    ['a token with a space', { token: `${token} x` }, /token must be/],
    ['pageSize 0', { pageSize: 0 }, /pageSize must be a whole number from 1 to 5000, got 0/],
    ['pageSize 5001', { pageSize: 5001 }, /pageSize .* got 5001/],
    ['a fractional pageSize', { pageSize: 2.5 }, /pageSize/],
    ['maxAttempts 0', { maxAttempts: 0 }, /maxAttempts/],
    ['a negative timeout', { requestTimeoutMs: -1 }, /requestTimeoutMs/],
    ['maxPageBytes 0', { maxPageBytes: 0 }, /maxPageBytes/],
    ['a user agent with a newline', { userAgent: 'a\nb' }, /userAgent/],
  ])('refuses %s with ERR_SOURCE_CONFIG', (_label, override, message) => {
    const err = failure({ baseUrl: 'https://api.example.com', token, ...override });
    expect(err.code).toBe('ERR_SOURCE_CONFIG');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(token);
    expect(err.message).not.toContain('pw@');
  });
});
