import { describe, expect, it } from 'vitest';
import { resolveTenantId, tenantBaseUrl } from '../../../src/portal/tenant-host.js';

const multi = { publicUrl: 'https://retention.example.com', defaultTenant: undefined };
const single = { publicUrl: 'http://localhost:3000', defaultTenant: 'demo' };

describe('resolveTenantId', () => {
  it.each([
    ['acme.retention.example.com', multi, 'acme'],
    ['ACME.Retention.Example.com', multi, 'acme'],
    ['acme.retention.example.com.', multi, 'acme'],
    ['retention.example.com', multi, undefined],
    ['a.b.retention.example.com', multi, undefined],
    ['-bad.retention.example.com', multi, undefined],
    ['acme.evil.example', multi, undefined],
    ['retention.example.com.evil.example', multi, undefined],
    ['localhost', single, 'demo'],
    ['acme.localhost', single, 'acme'],
    ['localhost.', single, 'demo'],
    ['LOCALHOST', single, 'demo'],
    // issue 10.9: the default tenant only on PUBLIC_URL's host (DNS rebinding: any other Host header is 404)
    ['127.0.0.1', single, undefined],
    ['attacker.example', single, undefined],
    ['localhost.attacker.example', single, undefined],
    ['evil-localhost', single, undefined],
    ['a.b.localhost', single, undefined],
    ['', single, undefined],
    [undefined, single, undefined],
    ['retention.example.com', { publicUrl: 'https://retention.example.com', defaultTenant: 'main' }, 'main'],
    ['rebind.attacker.example', { publicUrl: 'https://retention.example.com', defaultTenant: 'main' }, undefined],
  ])('%s → %s', (host, options, expected) => {
    expect(resolveTenantId(host, options)).toBe(expected);
  });
});

describe('tenantBaseUrl', () => {
  it.each([
    ['acme', multi, 'https://acme.retention.example.com'],
    ['demo', single, 'http://localhost:3000'],
    ['acme', single, 'http://acme.localhost:3000'],
    ['acme', { publicUrl: 'https://retention.example.com/', defaultTenant: undefined }, 'https://acme.retention.example.com'],
  ])('%s → %s', (tenantId, options, expected) => {
    expect(tenantBaseUrl(tenantId, options)).toBe(expected);
  });
});
