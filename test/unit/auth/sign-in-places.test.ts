import { describe, expect, it } from 'vitest';
import { describeUserAgent, networkOf, signInPlace } from '../../../src/auth/sign-in-places.js';

const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

describe('sign-in places (ASVS 2.2.3)', () => {
  it('names the browser and system of common user agents, and keeps a place per network', async () => {
    expect(describeUserAgent(FIREFOX)).toBe('Firefox on Windows');
    expect(describeUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15')).toBe(
      'Safari on macOS',
    );
    expect(describeUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0')).toBe(
      'Edge on Linux',
    );
    expect(
      describeUserAgent(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1',
      ),
    ).toBe('Chrome on iOS');
    expect(describeUserAgent('curl/8.5.0')).toBe('an unrecognised browser');
    expect(networkOf('::ffff:203.0.113.45')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:0:1::5')).toBe('2001:db8:0::/48');
    expect(networkOf('2001:0db8:0000:0001:0000:0000:0000:0005')).toBe('2001:db8:0::/48');
    expect(signInPlace('203.0.113.1', FIREFOX).key).toBe(signInPlace('203.0.113.250', FIREFOX).key);
    expect(signInPlace('203.0.114.1', FIREFOX).key).not.toBe(signInPlace('203.0.113.1', FIREFOX).key);
  });
});
