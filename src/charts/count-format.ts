/**
 * A count in full with `,` between thousands, independent of the runtime's locale data (deterministic output).
 *
 * @example
 * formatCount(1234567); // '1,234,567'
 */
export function formatCount(value: number): string {
  const whole = Math.round(value);
  const sign = whole < 0 ? '-' : '';
  return sign + String(Math.abs(whole)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Units from the largest to the smallest. */
const UNITS: [number, string][] = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * A count in at most four characters plus a unit, for axis ticks: `950`, `1.5k`, `12k`, `3.4M`, `2B`.
 *
 * @example
 * formatCompactCount(1_500); // '1.5k'
 */
export function formatCompactCount(value: number): string {
  const size = Math.abs(Math.round(value));
  if (size < 1000) return String(Math.round(value));
  for (let index = UNITS.length - 1; index >= 0; index -= 1) {
    const [unit, suffix] = UNITS[index] as [number, string];
    const scaled = value / unit;
    const rounded = Math.abs(scaled) >= 100 ? Math.round(scaled) : Math.round(scaled * 10) / 10;
    if (Math.abs(rounded) < 1000 || index === 0) return `${rounded}${suffix}`;
  }
  return String(value);
}
