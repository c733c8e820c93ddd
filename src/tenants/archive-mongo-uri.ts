import { MongoClient } from 'mongodb';

/** The longest archive MongoDB URI the settings accept. */
export const MAX_ARCHIVE_URI_LENGTH = 4096;

const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;
const DATABASE = /^[A-Za-z0-9_-]{1,63}$/;
const USERINFO_RESERVED = /[:/?#[\]@]/;

/**
 * What to change so that `uri` can be a tenant's archive MongoDB URI (an instruction, the second half of a refusal),
 * or `undefined` when it can be one: it must be a `mongodb://` or
 * `mongodb+srv://` connection string with at least one host (exactly one, without a port, for `+srv`), reserved
 * characters of the user name and password percent-encoded, a database name the archive can use (or none), and
 * options the MongoDB driver accepts, none of which reaches files or identities of the operator's machine. The answer
 * never quotes the URI, which may hold a password. Nothing is contacted (the destination policy checks its hosts:
 * `findDestinationProblems`).
 *
 * @example
 * archiveUriProblem('mongodb://archive.example.com:27017/acme'); // undefined
 * archiveUriProblem('https://example.com'); // 'enter a MongoDB connection string starting with mongodb:// or mongodb+srv://'
 */
export function archiveUriProblem(uri: string): string | undefined {
  if (uri.length > MAX_ARCHIVE_URI_LENGTH) return `enter a MongoDB connection string of at most ${MAX_ARCHIVE_URI_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'enter a MongoDB connection string without spaces or line breaks';
  const scheme = /^mongodb(\+srv)?:\/\//.exec(uri);
  if (scheme === null) return 'enter a MongoDB connection string starting with mongodb:// or mongodb+srv://';
  const parts = /^(?:([^:@]*)(?::([^@]*))?@)?([^/?@]*)(.*)$/.exec(uri.slice(scheme[0].length));
  const [, username = '', password = '', hostList = '', rest = ''] = parts ?? [];
  if (USERINFO_RESERVED.test(username) || USERINFO_RESERVED.test(password) || rest.startsWith('@')) {
    return 'percent-encode the characters : / ? # [ ] @ in the user name and password (for example @ as %40)';
  }
  if (hostList === '') return 'enter a connection string that names the server, such as mongodb://archive.example.com:27017/retention';
  const hosts = hostList.split(',');
  for (const host of hosts) {
    const match = HOST.exec(host);
    if (match === null) return 'enter host names of letters, digits, ".", "-" and "_", each with an optional port, separated by commas';
    const port = match[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) return 'use ports from 1 to 65535';
  }
  if (scheme[1] !== undefined && (hosts.length !== 1 || hosts[0]?.includes(':') === true)) {
    return 'a mongodb+srv:// connection string names exactly one host, without a port';
  }
  const database = /^\/([^?]*)/.exec(rest)?.[1] ?? '';
  if (database !== '' && !DATABASE.test(database)) {
    return 'enter a database name of letters, digits, "_" and "-" (at most 63) after the host, or none for the default archive database';
  }
  try {
    new MongoClient(uri);
  } catch {
    return 'enter a connection string the MongoDB driver accepts: check the database name and the options after "?"';
  }
  const options = new URLSearchParams(/\?(.*)$/.exec(rest)?.[1] ?? '');
  for (const [name, value] of options) {
    const key = name.toLowerCase();
    if (OPERATOR_FILE_OPTIONS.has(key))
      return `remove the ${name} option: it names a file on the worker's machine; a tenant's archive may use TLS with certificates a public authority signed`;
    if (key === 'authmechanism' && OPERATOR_IDENTITY_MECHANISMS.has(value.toUpperCase()))
      return `remove authMechanism=${value}: it would sign in with the operator's own cloud or Kerberos identity; use a user name and password`;
    if (key === 'authmechanismproperties' && /ENVIRONMENT\s*:/i.test(value))
      return "remove ENVIRONMENT from authMechanismProperties: it would send the operator's cloud identity to the tenant's server";
  }
  return undefined;
}

/** URI options that make the driver read files of the machine it runs on (the operator's, not the tenant's). */
const OPERATOR_FILE_OPTIONS = new Set([
  'tlscafile',
  'tlscertificatekeyfile',
  'tlscertificatefile',
  'tlscrlfile',
  'sslca',
  'sslcert',
  'sslkey',
  'sslcrl',
  'sslpass',
  'tlscertificatekeyfilepassword',
]);

/** Authentication mechanisms that use the identity of the machine the driver runs on. */
const OPERATOR_IDENTITY_MECHANISMS = new Set(['MONGODB-AWS', 'MONGODB-OIDC', 'GSSAPI', 'MONGODB-X509']);
