const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Renders a zod issue path the way a person would write it: `agents[0].talkSec`, `customFields["a b"]`.
 * The empty path (the record itself) renders as `(record)`.
 *
 * @example
 * formatIssuePath(['messages', 3, 'senderId']); // 'messages[3].senderId'
 */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text === '' ? '(record)' : text;
}
