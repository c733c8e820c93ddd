import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

const execFileAsync = promisify(execFile);

/** One message the test server accepted, parsed. */
export interface ReceivedMail {
  /** `MAIL FROM` and `RCPT TO` of the transaction. */
  envelopeFrom: string;
  recipients: string[];
  /** True when the message came over TLS (after STARTTLS). */
  secure: boolean;
  raw: string;
  /** Header fields, names lower case, values unfolded and RFC 2047-decoded (the last one of a repeated field). */
  headers: Map<string, string>;
  messageId: string;
  subject: string;
  /** The decoded text/plain and text/html parts. */
  text: string;
  html: string;
}

/** What the test server does with a recipient: accept it, or refuse it for good (550) or for now (450). */
export type RecipientVerdict = 'accept' | 'reject-permanently' | 'reject-temporarily';

/** Options of {@link startTestSmtpServer}. */
export interface TestSmtpServerOptions {
  /** Decides each `RCPT TO`. Default: accept everyone. */
  recipients?: (address: string) => RecipientVerdict;
  /** Offers and accepts no STARTTLS (to test that a required upgrade fails). Default false. */
  noStartTls?: boolean;
}

/** A real SMTP server (the `smtp-server` package) on a loopback port, with STARTTLS and a self-signed certificate. */
export interface TestSmtpServer {
  host: '127.0.0.1';
  port: number;
  /** The server's self-signed certificate (PEM), the one certificate a client of it trusts. */
  ca: string;
  /** Every accepted message, in order, across restarts. */
  received: ReceivedMail[];
  /** `RCPT TO` commands per address (lower case), accepted or not, across restarts. */
  rcptAttempts: Map<string, number>;
  readonly running: boolean;
  /** Stops listening and drops open connections (a mail server going away). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Messages received with this `Message-ID`. */
  countByMessageId(messageId: string): number;
  /** Stops and removes the certificate's temporary directory. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A self-signed certificate for `localhost` and `127.0.0.1` made with `openssl` for this test run (P-256, one day).
 */
async function selfSignedCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
  return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
}

/** RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`) decoded. */
function decodeWords(value: string): string {
  return value.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=\s*(?==\?)?/g, (_all, _charset: string, kind: string, text: string) =>
    kind.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
          'latin1',
        ).toString('utf8'),
  );
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  return headers;
}

function decodeBody(body: string, encoding: string | undefined): string {
  if (encoding?.toLowerCase() === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding?.toLowerCase() === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** The text/plain and text/html parts of a message (a single part, or one level of multipart). */
function parseParts(headers: Map<string, string>, body: string): { text: string; html: string } {
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  const parts =
    boundary === undefined
      ? [{ headers, body }]
      : body
          .split(`--${boundary}`)
          .slice(1)
          .filter((part) => !part.startsWith('--'))
          .map((part) => {
            const split = part.replace(/^\r\n/, '').indexOf('\r\n\r\n');
            const text = part.replace(/^\r\n/, '');
            return { headers: parseHeaders(text.slice(0, split)), body: text.slice(split + 4).replace(/\r\n$/, '') };
          });
  const find = (mime: string) => parts.find((part) => (part.headers.get('content-type') ?? 'text/plain').toLowerCase().startsWith(mime));
  const decode = (part: { headers: Map<string, string>; body: string } | undefined) =>
    part === undefined ? '' : decodeBody(part.body, part.headers.get('content-transfer-encoding'));
  return { text: decode(find('text/plain')), html: decode(find('text/html')) };
}

/**
 * Parses a raw message: header fields, `Message-ID`, subject, and the decoded text and HTML parts.
 *
 * @example
 * parseMessage(readFileSync('message.eml', 'utf8')).subject;
 */
export function parseMessage(raw: string): Pick<ReceivedMail, 'headers' | 'messageId' | 'subject' | 'text' | 'html'> {
  const normalized = raw.replace(/\r?\n/g, '\r\n');
  const split = normalized.indexOf('\r\n\r\n');
  const headers = parseHeaders(normalized.slice(0, split));
  return { headers, messageId: headers.get('message-id') ?? '', subject: headers.get('subject') ?? '', ...parseParts(headers, normalized.slice(split + 4)) };
}

/**
 * Starts a real SMTP server on a free loopback port: STARTTLS with a certificate made for this run (a client trusts
 * it through `ca`), authentication optional, every accepted message parsed into `received`. It can be stopped and
 * started again on the same port, as a mail server that goes away and comes back.
 *
 * @example
 * const smtp = await startTestSmtpServer({ recipients: (a) => (a.startsWith('bounce') ? 'reject-permanently' : 'accept') });
 * const transport = new SmtpMailTransport({ kind: 'smtp', host: smtp.host, port: smtp.port, tls: 'starttls' }, { ca: smtp.ca });
 */
export async function startTestSmtpServer(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const dir = await mkdtemp(join(tmpdir(), 'retention-smtp-'));
  const { key, cert } = await selfSignedCertificate(dir);
  const port = await freePort();
  const received: ReceivedMail[] = [];
  const rcptAttempts = new Map<string, number>();
  let server: SMTPServer | undefined;

  const serverOptions: SMTPServerOptions = {
    secure: false,
    key,
    cert,
    hideSTARTTLS: options.noStartTls ?? false,
    disabledCommands: options.noStartTls ? ['STARTTLS'] : [],
    authOptional: true,
    logger: false,
    closeTimeout: 200,
    banner: 'Retention test SMTP server',
    onRcptTo(address, _session, callback) {
      const recipient = address.address.toLowerCase();
      rcptAttempts.set(recipient, (rcptAttempts.get(recipient) ?? 0) + 1);
      const verdict = options.recipients?.(recipient) ?? 'accept';
      if (verdict === 'accept') return callback();
      const permanent = verdict === 'reject-permanently';
      callback(
        Object.assign(new Error(permanent ? `5.1.1 <${recipient}>: Recipient address rejected: User unknown` : '4.2.1 Mailbox busy, try later'), {
          responseCode: permanent ? 550 : 450,
        }),
      );
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const from = session.envelope.mailFrom;
        received.push({
          envelopeFrom: from === false ? '' : from.address,
          recipients: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          raw,
          ...parseMessage(raw),
        });
        callback(null, 'Message queued as test');
      });
    },
  };

  const start = async (): Promise<void> => {
    const next = new SMTPServer(serverOptions);
    next.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      next.server.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    server = next;
  };
  const stop = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await start();
  return {
    host: '127.0.0.1',
    port,
    ca: cert,
    received,
    rcptAttempts,
    get running() {
      return server !== undefined;
    },
    stop,
    start,
    countByMessageId: (messageId) => received.filter((mail) => mail.messageId === messageId).length,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
