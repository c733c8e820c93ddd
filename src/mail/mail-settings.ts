/**
 * How the connection to the SMTP server is protected:
 * - `implicit`: TLS from the first byte (`smtps://`, port 465 by default);
 * - `starttls`: plain TCP upgraded with STARTTLS before anything is sent, and the send fails when the server does not
 *   offer it (`smtp://…?tls=starttls`, port 587 by default);
 * - `off`: plain text, never upgraded (`smtp://…?tls=off`, port 25 by default): only for a relay on the same host or
 *   on a private network the operator trusts.
 *
 * Wherever TLS is used the server's certificate is verified against the system's trusted CAs (plus `NODE_EXTRA_CA_CERTS`):
 * nothing in the URL turns verification off.
 */
export type SmtpTlsMode = 'implicit' | 'starttls' | 'off';

/** An SMTP server to send through, from `SMTP_URL`. */
export interface SmtpTransportSettings {
  kind: 'smtp';
  host: string;
  port: number;
  tls: SmtpTlsMode;
  /** `user:password@` of the URL, percent-decoded; absent when the URL carries none. */
  auth?: { user: string; pass: string };
}

/** Messages written as `.eml` files into a directory instead of being sent (the demo without `SMTP_URL`). */
export interface FileTransportSettings {
  kind: 'file';
  directory: string;
}

/** How Retention sends mail: the sender address and the transport. */
export interface MailSettings {
  /** `MAIL_FROM`: the `From` of every message, `Name <address>` or `address`. */
  from: string;
  transport: SmtpTransportSettings | FileTransportSettings;
}

const DEFAULT_PORTS: Record<SmtpTlsMode, number> = { implicit: 465, starttls: 587, off: 25 };

const TLS_HELP =
  'say how the connection is protected: smtps://host:465 (TLS from the first byte), smtp://host:587?tls=starttls (STARTTLS, required), or smtp://host:25?tls=off (plain text: only for a relay on the same host or a private network you trust)';

/** `MAIL_FROM`'s shapes: `address` or `Display Name <address>` (the name without `<`, `>`, `"` or control characters). */
const ADDRESS = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}\.[^\s@<>()[\]\\,;:".]{2,63}$/;
const NAMED_ADDRESS = /^([^<>"\p{Cc}]{1,100}?)\s*<([^<>\s]+)>$/u;

/**
 * Reads `SMTP_URL`: `smtps://[user:password@]host[:port]`, or `smtp://[user:password@]host[:port]?tls=starttls|off`.
 * Throws an `Error` whose message says what is wrong and never repeats the URL (it may carry a password).
 *
 * @example
 * parseSmtpUrl('smtp://mailer:s3cret@smtp.example.com:587?tls=starttls');
 * // { kind: 'smtp', host: 'smtp.example.com', port: 587, tls: 'starttls', auth: { user: 'mailer', pass: 's3cret' } }
 * parseSmtpUrl('smtp://smtp.example.com'); // throws: does not say how the connection is protected
 */
export function parseSmtpUrl(value: string): SmtpTransportSettings {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`a URL such as smtps://user:password@smtp.example.com:465 (this one does not parse); ${TLS_HELP}`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'smtp' && scheme !== 'smtps') throw new Error(`a URL starting with smtps:// or smtp:// (not ${scheme}://); ${TLS_HELP}`);
  if (url.hostname === '') throw new Error('a URL naming the SMTP server, such as smtps://smtp.example.com');
  if (url.pathname !== '' && url.pathname !== '/') throw new Error('a URL without a path: only scheme, credentials, host, port and ?tls= are read');
  if (url.hash !== '') throw new Error('a URL without a #fragment');
  const names = [...url.searchParams.keys()];
  const unknown = names.filter((name) => name !== 'tls');
  if (unknown.length > 0)
    throw new Error(`a URL whose only option is tls= (starttls or off); unknown option ${unknown.map((n) => `"${n.slice(0, 40)}"`).join(', ')}`);
  if (url.searchParams.getAll('tls').length > 1) throw new Error('a URL with tls= given once');
  const tlsParam = url.searchParams.get('tls');
  let tls: SmtpTlsMode;
  if (scheme === 'smtps') {
    if (tlsParam !== null) throw new Error('smtps:// without ?tls= (smtps:// is always TLS; use smtp://…?tls=starttls or ?tls=off for the others)');
    tls = 'implicit';
  } else if (tlsParam === 'starttls' || tlsParam === 'off') {
    tls = tlsParam;
  } else if (tlsParam === null) {
    throw new Error(`a URL that says whether mail may travel in plain text: smtp:// alone does not; ${TLS_HELP}`);
  } else {
    throw new Error(`tls=starttls or tls=off (not "${tlsParam.slice(0, 40)}"); ${TLS_HELP}`);
  }
  const port = url.port === '' ? DEFAULT_PORTS[tls] : Number(url.port);
  if (!(port >= 1 && port <= 65535)) throw new Error('a URL with a port from 1 to 65535');
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new Error('a URL whose user name and password are percent-encoded correctly (encode "@" as %40, ":" as %3A)');
    }
  };
  const user = decode(url.username);
  const pass = decode(url.password);
  if (user === '' && pass !== '') throw new Error('a URL with a user name before the password (user:password@host)');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'smtp', host, port, tls, ...(user !== '' ? { auth: { user, pass } } : {}) };
}

/**
 * Checks `MAIL_FROM`: an address (`retention@example.com`) or a name and an address (`Retention <retention@example.com>`).
 * Returns it trimmed; throws an `Error` saying what is expected.
 *
 * @example
 * parseMailFrom('Acme Retention <retention@acme.example>'); // 'Acme Retention <retention@acme.example>'
 */
export function parseMailFrom(value: string): string {
  const trimmed = value.trim();
  const named = NAMED_ADDRESS.exec(trimmed);
  const address = named?.[2] ?? trimmed;
  if (address.length > 254 || !ADDRESS.test(address)) throw new Error('an address such as retention@example.com, or Retention <retention@example.com>');
  return named ? `${(named[1] ?? '').trim()} <${address}>` : address;
}

/**
 * The bare address of a `MAIL_FROM` value.
 *
 * @example
 * mailFromAddress('Retention <retention@example.com>'); // 'retention@example.com'
 */
export function mailFromAddress(from: string): string {
  return NAMED_ADDRESS.exec(from)?.[2] ?? from;
}

/**
 * One line naming the transport for logs and the demo's console, never a credential.
 *
 * @example
 * describeMailTransport({ kind: 'smtp', host: 'smtp.example.com', port: 587, tls: 'starttls' }); // 'SMTP smtp.example.com:587 (STARTTLS, certificate verified)'
 */
export function describeMailTransport(transport: MailSettings['transport']): string {
  if (transport.kind === 'file') return `.eml files in ${transport.directory}`;
  const protection = transport.tls === 'off' ? 'plain text, tls=off' : `${transport.tls === 'implicit' ? 'TLS' : 'STARTTLS'}, certificate verified`;
  return `SMTP ${transport.host}:${transport.port} (${protection}${transport.auth ? `, as ${transport.auth.user}` : ''})`;
}
