/** Paths never returned to after a sign-in: the sign-in pages themselves, and what only a POST does. */
const NOT_RETURNED_TO = /^\/(?:sign-in|sign-out|forgot-password|reset-password|confirm-email|activate|invitation)(?:[/?#]|$)/;

/**
 * The page to return to after a sign-in, when `value` is a path of this portal: it starts with one `/` (never `//` or
 * `/\`, which browsers read as another host), holds no control character or backslash, is at most 2000 characters,
 * and is not a sign-in page. Anything else is undefined, so a sign-in never redirects off the portal (no open
 * redirect, ASVS 5.1.5).
 *
 * @example
 * safeReturnPath('/chats?channel=web'); // '/chats?channel=web'
 * safeReturnPath('//evil.example/'); // undefined
 */
export function safeReturnPath(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (!value.startsWith('/') || value.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value, 'https://portal.invalid');
  } catch {
    return undefined;
  }
  if (url.origin !== 'https://portal.invalid' || NOT_RETURNED_TO.test(url.pathname)) return undefined;
  const path = `${url.pathname}${url.search}`;
  return path === '/' ? undefined : path;
}
