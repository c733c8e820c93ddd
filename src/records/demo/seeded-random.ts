/** Scrambles a 32-bit integer so that nearby inputs give unrelated outputs (xorshift-multiply finalizer). */
export function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit hash of a string (FNV-1a over UTF-16 code units, then {@link mix32}). */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return mix32(hash);
}

/**
 * A small, fast, seeded pseudo-random generator (SFC32: 128 bits of state), for demo data only: never for
 * anything secret. The same seed words always give the same sequence, on every platform.
 *
 * @example
 * const random = SeededRandom.fromParts('demo-seed', 'chats', 42);
 * random.int(1, 6); // the same number every run
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    for (let round = 0; round < 12; round += 1) this.nextUint32();
  }

  /**
   * A generator for one stream: a string label (seed and purpose) and a non-negative safe integer (a slot index).
   * Different labels or indexes give independent streams.
   */
  static fromParts(seed: string, label: string, index: number): SeededRandom {
    const low = index >>> 0;
    const high = Math.floor(index / 0x1_0000_0000) >>> 0;
    const seedHash = hashString(seed);
    const labelHash = hashString(label);
    return new SeededRandom(
      mix32(seedHash ^ 0x9e3779b9),
      mix32(labelHash ^ mix32(high ^ 0x85ebca6b)),
      mix32(low ^ mix32(seedHash + labelHash)),
      low ^ 0x2545f491,
    );
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick needs a non-empty array');
    return item;
  }

  /** One key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    let total = 0;
    let last: K | undefined;
    for (const key in weights) {
      total += weights[key];
      last = key;
    }
    if (last === undefined) throw new RangeError('weighted needs at least one entry');
    let roll = this.next() * total;
    for (const key in weights) {
      roll -= weights[key];
      if (roll < 0) return key;
    }
    return last;
  }

  /** A lowercase hex string of `length` characters. */
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.nextUint32().toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  /** An integer in [min, max] skewed towards `min` (a rough log-normal feel for durations and sizes). */
  skewed(min: number, max: number): number {
    const u = this.next();
    return min + Math.floor(u * u * u * (max - min + 1));
  }
}
