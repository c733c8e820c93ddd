import { createHash, createPrivateKey, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { SsoSettingsError } from './sso-settings.js';

/** A private key of the portal for `private_key_jwt`, ready for `openid-client`. */
export interface SsoClientKey {
  key: webcrypto.CryptoKey;
  /** `RS256` for RSA keys, `ES256` / `ES384` for P-256 / P-384 keys. */
  alg: 'RS256' | 'ES256' | 'ES384';
}

function keyObjectOf(pem: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SsoSettingsError({ privateKey: 'Paste the private key as PEM (-----BEGIN PRIVATE KEY-----), not encrypted with a passphrase.' });
  }
}

/**
 * Checks a pasted private key (PEM, PKCS#8 or PKCS#1/SEC1; RSA of at least 2048 bits, or EC P-256 / P-384) and returns
 * it as a WebCrypto key for signing client assertions. `SsoSettingsError` (field `privateKey`) for anything else.
 *
 * @example
 * const { key, alg } = await importSsoClientKey(pem);
 */
export async function importSsoClientKey(pem: string): Promise<SsoClientKey> {
  const keyObject = keyObjectOf(pem);
  const der = keyObject.export({ format: 'der', type: 'pkcs8' });
  if (keyObject.asymmetricKeyType === 'rsa') {
    if ((keyObject.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new SsoSettingsError({ privateKey: 'Use an RSA key of at least 2048 bits.' });
    const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { key, alg: 'RS256' };
  }
  const curve = keyObject.asymmetricKeyDetails?.namedCurve;
  if (keyObject.asymmetricKeyType === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1')) {
    const namedCurve = curve === 'prime256v1' ? 'P-256' : 'P-384';
    const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key, alg: namedCurve === 'P-256' ? 'ES256' : 'ES384' };
  }
  throw new SsoSettingsError({ privateKey: 'Use an RSA key (2048 bits or more) or an EC key on P-256 or P-384.' });
}

/** The thumbprints of a certificate that Entra ID expects in a client assertion's header. */
export interface CertificateThumbprints {
  /** SHA-1 of the DER certificate, base64url. */
  x5t: string;
  /** SHA-256 of the DER certificate, base64url. */
  'x5t#S256': string;
}

/**
 * The thumbprints of `certificatePem`, after checking that it holds the public half of `privateKeyPem` and is valid
 * now. `SsoSettingsError` (field `certificate`) otherwise.
 *
 * @example
 * certificateThumbprints(certPem, keyPem, new Date())['x5t#S256']; // 'mZ1…'
 */
export function certificateThumbprints(certificatePem: string, privateKeyPem: string, now: Date): CertificateThumbprints {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch {
    throw new SsoSettingsError({ certificate: 'Paste the certificate as PEM (-----BEGIN CERTIFICATE-----).' });
  }
  if (!certificate.checkPrivateKey(keyObjectOf(privateKeyPem))) {
    throw new SsoSettingsError({
      certificate: 'This certificate is not the one of the private key: paste the certificate you uploaded to the provider for this key.',
    });
  }
  if (new Date(certificate.validTo).getTime() < now.getTime()) {
    throw new SsoSettingsError({ certificate: `This certificate expired on ${new Date(certificate.validTo).toISOString().slice(0, 10)}.` });
  }
  return {
    x5t: createHash('sha1').update(certificate.raw).digest('base64url'),
    'x5t#S256': createHash('sha256').update(certificate.raw).digest('base64url'),
  };
}
