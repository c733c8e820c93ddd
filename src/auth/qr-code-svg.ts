import QRCode from 'qrcode';

/**
 * Renders `text` (an `otpauth://` URI) as a QR code in SVG, on the server: no script and no external image,
 * so it passes a strict CSP. Error correction M, a quiet zone of 4 modules (what scanners expect), black on white.
 * The SVG has a `viewBox` and no fixed size: size it with CSS. Insert it unescaped (`<%- %>`) only because it is
 * produced here from the library's fixed markup; the URI itself is encoded in the path, never echoed as text.
 *
 * @example
 * const svg = await renderQrCodeSvg(buildOtpauthUri({ secret, issuer: 'Retention (acme)', account: email }));
 */
export async function renderQrCodeSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4, color: { dark: '#000000', light: '#ffffff' } });
}
