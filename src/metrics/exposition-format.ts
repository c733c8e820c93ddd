/** `Content-Type` of the Prometheus text exposition format, version 0.0.4. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Escapes a label value for the text format: backslash, double quote and line feed become `\\`, `\"` and `\n`.
 *
 * @example
 * escapeLabelValue('say "hi"\n'); // 'say \\"hi\\"\\n'
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Escapes a `# HELP` text: backslash and line feed become `\\` and `\n` (quotes stay as they are).
 *
 * @example
 * escapeHelp('line one\nline two'); // 'line one\\nline two'
 */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A sample value as the format writes it: `NaN`, `+Inf`, `-Inf`, or the number.
 *
 * @example
 * formatSampleValue(Infinity); // '+Inf'
 */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * `{name="value",...}` for the given pairs in the given order, or `''` when there are none.
 *
 * @example
 * formatLabels([['method', 'GET'], ['route', '/x']]); // '{method="GET",route="/x"}'
 */
export function formatLabels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

/** Throws a `TypeError` naming the problem when `name` is not a valid metric name. */
export function assertMetricName(name: string): void {
  if (!METRIC_NAME.test(name))
    throw new TypeError(`metric name ${JSON.stringify(name)} is invalid: use letters, digits, "_" and ":", not starting with a digit`);
}

/** Throws a `TypeError` naming the problem when `name` is not a valid label name, or one reserved (`__*`, `le` where `reserved` says so). */
export function assertLabelName(name: string, reserved: readonly string[] = []): void {
  if (!LABEL_NAME.test(name) || name.startsWith('__')) {
    throw new TypeError(`label name ${JSON.stringify(name)} is invalid: use letters, digits and "_", not starting with a digit or "__"`);
  }
  if (reserved.includes(name)) throw new TypeError(`label name ${JSON.stringify(name)} is reserved for this metric type`);
}
