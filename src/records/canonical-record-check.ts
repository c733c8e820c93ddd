import type { z } from 'zod';
import { RECORD_SCHEMAS } from './archive-record.js';
import type { RecordType } from './record-type.js';

/** True when a value already is what its zod schema returns for it (see {@link isCanonicalRecord}). */
type CanonicalCheck = (value: unknown) => boolean;

type ZodSchema = z.core.$ZodType;
type ZodCheck = z.core.$ZodCheck<unknown>;
type ZodCheckDef = z.core.$ZodChecks['_zod']['def'];

/**
 * The payload zod's checks run against here. Checks are synchronous and run one at a time, and the first issue ends
 * the walk (its issues are cleared before the walk answers), so one object serves them all.
 */
const payload: z.core.ParsePayload = { value: undefined, issues: [] };

/**
 * Runs `checks` on `value` with zod's own code, as zod's runtime runs them after the type test (a check with a `when`
 * only when it says so). True when none adds an issue and none replaces the value (an `overwrite` such as `.trim()`
 * would make zod's answer differ from the input).
 */
function passesChecks(checks: readonly ZodCheck[], value: unknown): boolean {
  payload.value = value;
  for (const check of checks) {
    const { when } = check._zod.def;
    if (when !== undefined && !when(payload)) continue;
    if ((check._zod.check(payload) as unknown) instanceof Promise) throw new Error('canonical record check: asynchronous checks are not supported');
    if (payload.issues.length > 0 || payload.value !== value) {
      payload.issues.length = 0;
      return false;
    }
  }
  return true;
}

/** String formats whose whole check is `pattern.test(value)` (zod's `$ZodCheckRegex`, `$ZodEmail`, `$ZodISODateTime`). */
const PATTERN_FORMATS: ReadonlySet<string> = new Set(['regex', 'email', 'datetime']);

/**
 * A schema's checks, sorted for speed. Patterns, numeric bounds and safe integers are tested inline, as zod's check
 * code tests them. A length is tested in UTF-16 units: one that clears every bound even counted in code points, as
 * zod counts strings (a code point is one or two units), passes; one in doubt goes to zod's length checks. Any
 * other check (refinements, `superRefine` rules) runs as zod's own code.
 */
interface CheckPlan {
  /** Lengths from `minUnits` to `maxUnits` pass every length check; outside, `lengthChecks` decide. */
  minUnits: number;
  maxUnits: number;
  lengthChecks: ZodCheck[];
  patterns: RegExp[];
  lowerBounds: { bound: number; inclusive: boolean }[];
  upperBounds: { bound: number; inclusive: boolean }[];
  safeInteger: boolean;
  others: ZodCheck[];
}

/** The checks zod runs on `schema` after its type test: the schema itself when it is one (string formats), then `checks`. */
function checksOf(schema: ZodSchema): ZodCheck[] {
  const own = (schema._zod.def.checks ?? []) as unknown as ZodCheck[];
  return schema._zod.traits.has('$ZodCheck') ? [schema as unknown as ZodCheck, ...own] : own;
}

function planChecks(schema: ZodSchema): CheckPlan {
  const plan: CheckPlan = {
    minUnits: 0,
    maxUnits: Number.POSITIVE_INFINITY,
    lengthChecks: [],
    patterns: [],
    lowerBounds: [],
    upperBounds: [],
    safeInteger: false,
    others: [],
  };
  for (const check of checksOf(schema)) {
    const def = check._zod.def as ZodCheckDef;
    if (def.check === 'max_length') {
      plan.maxUnits = Math.min(plan.maxUnits, def.maximum);
      plan.lengthChecks.push(check);
    } else if (def.check === 'min_length') {
      plan.minUnits = Math.max(plan.minUnits, def.minimum * 2);
      plan.lengthChecks.push(check);
    } else if (def.check === 'string_format' && PATTERN_FORMATS.has(def.format) && def.pattern !== undefined) {
      plan.patterns.push(def.pattern);
    } else if (def.check === 'greater_than' && typeof def.value === 'number') {
      plan.lowerBounds.push({ bound: def.value, inclusive: def.inclusive });
    } else if (def.check === 'less_than' && typeof def.value === 'number') {
      plan.upperBounds.push({ bound: def.value, inclusive: def.inclusive });
    } else if (def.check === 'number_format' && def.format === 'safeint') {
      plan.safeInteger = true;
    } else {
      plan.others.push(check);
    }
  }
  return plan;
}

function passesLength(plan: CheckPlan, value: { length: number }): boolean {
  const { length } = value;
  return (length >= plan.minUnits && length <= plan.maxUnits) || passesChecks(plan.lengthChecks, value);
}

function passesPatterns({ patterns }: CheckPlan, value: string): boolean {
  for (let index = 0; index < patterns.length; index += 1) {
    const pattern = patterns[index] as RegExp;
    pattern.lastIndex = 0;
    if (!pattern.test(value)) return false;
  }
  return true;
}

function passesNumberChecks(plan: CheckPlan, value: number): boolean {
  for (const { bound, inclusive } of plan.lowerBounds) if (inclusive ? value < bound : value <= bound) return false;
  for (const { bound, inclusive } of plan.upperBounds) if (inclusive ? value > bound : value >= bound) return false;
  return !plan.safeInteger || Number.isSafeInteger(value);
}

/** A plain object as JSON.parse makes it: zod copies anything else into one, so only these can be returned as they are. */
function isDataObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isDataArray(value: unknown): value is unknown[] {
  return Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype;
}

function unsupported(schema: ZodSchema, what: string): Error {
  return new Error(`canonical record check: ${what} (zod type "${schema._zod.def.type}") is not supported; extend canonical-record-check.ts`);
}

interface CanonicalField {
  key: string;
  /** Only plain `.optional()` fields may be absent: zod fills in a defaulted one. */
  mayBeAbsent: boolean;
  check: CanonicalCheck;
}

function fieldOf(key: string, schema: ZodSchema): CanonicalField {
  const { def } = schema._zod;
  if (def.type !== 'optional' && def.type !== 'default') return { key, mayBeAbsent: false, check: compile(schema) };
  if (checksOf(schema).length > 0) throw unsupported(schema, `checks on the wrapper of field "${key}"`);
  const inner = (def as z.core.$ZodOptionalDef | z.core.$ZodDefaultDef).innerType;
  return { key, mayBeAbsent: def.type === 'optional', check: compile(inner) };
}

/**
 * A strict object. zod answers a new object with the shape's keys in shape order, so the value must hold its keys in
 * that order and no other; it may leave out optional fields only (where zod then reads `undefined` too). Then the
 * object's own checks (`superRefine` rules) run on the value, which is what zod hands them.
 */
function compileObject(schema: ZodSchema, def: z.core.$ZodObjectDef): CanonicalCheck {
  if (def.catchall?._zod.def.type !== 'never') throw unsupported(schema, 'an object that is not strict');
  const fields = Object.entries(def.shape).map(([key, field]) => fieldOf(key, field));
  const { others: rules, ...inline } = planChecks(schema);
  if (inline.lengthChecks.length > 0 || inline.patterns.length > 0 || inline.lowerBounds.length > 0 || inline.upperBounds.length > 0 || inline.safeInteger) {
    throw unsupported(schema, 'length, pattern or number checks on an object');
  }
  return function isCanonicalObject(value) {
    if (!isDataObject(value)) return false;
    let next = 0;
    for (const key in value) {
      let field = fields[next];
      while (field !== undefined && field.key !== key) {
        if (!field.mayBeAbsent) return false;
        next += 1;
        field = fields[next];
      }
      if (field === undefined || !field.check(value[key])) return false;
      next += 1;
    }
    for (; next < fields.length; next += 1) if (fields[next]?.mayBeAbsent !== true) return false;
    return rules.length === 0 || passesChecks(rules, value);
  };
}

function compileArray(schema: ZodSchema, def: z.core.$ZodArrayDef): CanonicalCheck {
  const element = compile(def.element);
  const plan = planChecks(schema);
  const { others } = plan;
  return function isCanonicalArray(value) {
    if (!isDataArray(value) || !passesLength(plan, value)) return false;
    for (let index = 0; index < value.length; index += 1) if (!element(value[index])) return false;
    return others.length === 0 || passesChecks(others, value);
  };
}

/** A record of string keys: zod copies its own enumerable keys in order and drops a `__proto__` key, so a canonical one has none. */
function compileRecord(schema: ZodSchema, def: z.core.$ZodRecordDef): CanonicalCheck {
  if (def.mode === 'loose' || def.keyType._zod.values !== undefined) throw unsupported(schema, 'a loose record or one with enumerated keys');
  const key = compile(def.keyType);
  const item = compile(def.valueType);
  const { others } = planChecks(schema);
  return function isCanonicalRecord(value) {
    if (!isDataObject(value) || Object.getOwnPropertySymbols(value).length > 0) return false;
    for (const name of Object.keys(value)) if (name === '__proto__' || !key(name) || !item(value[name])) return false;
    return passesChecks(others, value);
  };
}

/** A union of primitives: zod answers with the first option that accepts the value, and a primitive as it is. */
function compileUnion(schema: ZodSchema, def: z.core.$ZodUnionDef): CanonicalCheck {
  if (def.inclusive === false) throw unsupported(schema, 'an exclusive union');
  const options = def.options.map((option) => {
    if (!['string', 'number', 'boolean', 'null'].includes(option._zod.def.type)) throw unsupported(option, 'a union of anything but primitives');
    return compile(option);
  });
  const { others } = planChecks(schema);
  return (value) => options.some((option) => option(value)) && passesChecks(others, value);
}

/** A primitive, which zod answers as it is: the type test of zod's parser, then the schema's checks. */
function compileLeaf(schema: ZodSchema): CanonicalCheck {
  const { def } = schema._zod;
  if ('coerce' in def && def.coerce === true) throw unsupported(schema, 'coercion');
  const plan = planChecks(schema);
  const { others } = plan;
  switch (def.type) {
    case 'string':
      return function isCanonicalString(value) {
        return typeof value === 'string' && passesLength(plan, value) && passesPatterns(plan, value) && (others.length === 0 || passesChecks(others, value));
      };
    case 'number':
      return function isCanonicalNumber(value) {
        return typeof value === 'number' && Number.isFinite(value) && passesNumberChecks(plan, value) && (others.length === 0 || passesChecks(others, value));
      };
    case 'boolean':
      return (value) => typeof value === 'boolean' && passesChecks(others, value);
    case 'null':
      return (value) => value === null && passesChecks(others, value);
    case 'unknown':
      return (value) => passesChecks(others, value);
    case 'enum':
    case 'literal': {
      const values: ReadonlySet<unknown> | undefined = schema._zod.values;
      if (values === undefined) throw unsupported(schema, 'an enum or literal without values');
      return function isCanonicalChoice(value) {
        return values.has(value) && (others.length === 0 || passesChecks(others, value));
      };
    }
    default:
      throw unsupported(schema, 'this type');
  }
}

function compile(schema: ZodSchema): CanonicalCheck {
  const { def } = schema._zod;
  switch (def.type) {
    case 'object':
      return compileObject(schema, def as z.core.$ZodObjectDef);
    case 'array':
      return compileArray(schema, def as z.core.$ZodArrayDef);
    case 'record':
      return compileRecord(schema, def as z.core.$ZodRecordDef);
    case 'union':
      return compileUnion(schema, def as z.core.$ZodUnionDef);
    case 'optional':
    case 'default':
      throw unsupported(schema, 'an optional or defaulted value outside an object field');
    default:
      return compileLeaf(schema);
  }
}

const CANONICAL_CHECKS: Readonly<Record<RecordType, CanonicalCheck>> = {
  'call-logs': compile(RECORD_SCHEMAS['call-logs']),
  chats: compile(RECORD_SCHEMAS.chats),
  contacts: compile(RECORD_SCHEMAS.contacts),
};

/** True when `Object.prototype` has an enumerable property (prototype pollution): every object would inherit a key. */
function hasInheritableKeys(): boolean {
  for (const key in Object.prototype) if (key !== undefined) return true;
  return false;
}

/**
 * True when `raw` already is, key order included, the record `parseRecord` answers for it: valid against the canonical
 * schema of `type`, no unknown top-level field to move into `attributes`, every defaulted field present, keys in the
 * schema's order at every level. Such a record needs no copy: `parseRecord` hands it back as it is, and
 * `JSON.stringify` of it is the text of zod's answer.
 *
 * Why it is fast: zod's parser builds a new object or array for every one of the record and a payload per field; this
 * walk allocates nothing and stops at the first doubt. Why it agrees with zod: it is derived from the zod schemas at
 * start-up, so every rule is still written once, in the schemas. It makes the type tests of zod's parser, and every
 * check passes only if zod's check would: the common ones tested inline as zod tests them, the rest (refinements,
 * `superRefine` rules) run as zod's own code on the values zod would hand them. It may answer false for a record
 * zod accepts (another key order, a default to fill in), never true for one zod rejects or changes: a false only
 * sends the record down zod's parse. A schema construct it does not model fails at start-up, naming it.
 *
 * Its input is JSON data, as JSON.parse and the demo generator make it. Other prototypes, symbol keys and
 * properties inherited from `Object.prototype` send a record to zod; getters are not looked for.
 *
 * @example
 * isCanonicalRecord('call-logs', JSON.parse(line)); // true for a record exported in the canonical shape
 */
export function isCanonicalRecord(type: RecordType, raw: unknown): boolean {
  return !hasInheritableKeys() && CANONICAL_CHECKS[type](raw);
}
