import { describe, expect, it } from 'vitest';
import { renderQrCodeSvg } from '../../../src/auth/qr-code-svg.js';
import { buildOtpauthUri } from '../../../src/auth/totp.js';

describe('renderQrCodeSvg', () => {
  it('renders an otpauth URI as a self-contained SVG without script or text of the secret', async () => {
    const uri = buildOtpauthUri({ secret: Buffer.from('12345678901234567890'), issuer: 'Retention (acme)', account: 'jo@acme.example' });
    const svg = await renderQrCodeSvg(uri);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
    expect(svg).toMatch(/<\/svg>\s*$/);
    expect(svg).not.toMatch(/<script|on\w+=|href=/i);
    expect(svg).not.toContain('GEZDGNBV');
  });

  it('gives different codes for different keys', async () => {
    const a = await renderQrCodeSvg('otpauth://totp/a:b?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    const b = await renderQrCodeSvg('otpauth://totp/a:b?secret=MZXW6YTBOIMZXW6YTBOIMZXW6YTBOIMZ');
    expect(a).not.toBe(b);
  });
});
