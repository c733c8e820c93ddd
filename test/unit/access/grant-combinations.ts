import { CAPABILITIES, type Capability } from '../../../src/access/capabilities.js';
import { RECORD_TYPES, type RecordType } from '../../../src/records/record-type.js';

/** Every subset of `values` (the empty one first): for tables over every combination of grants. */
export function subsets<T>(values: readonly T[]): T[][] {
  return values.reduce<T[][]>((all, value) => [...all, ...all.map((set) => [...set, value])], [[]]);
}

/** A user's role and grants, as a test creates the user. */
export interface GrantSet {
  role: 'owner' | 'administrator';
  dataTypes: RecordType[];
  capabilities: Capability[];
}

/** Named grant sets of the smallest kind: the owner, each single data type, each single capability, no grants. */
export const SINGLE_GRANT_SETS: readonly [string, GrantSet][] = [
  ['owner', { role: 'owner', dataTypes: [], capabilities: [] }],
  ...RECORD_TYPES.map((t): [string, GrantSet] => [`only ${t}`, { role: 'administrator', dataTypes: [t], capabilities: [] }]),
  ...CAPABILITIES.map((c): [string, GrantSet] => [`only ${c}`, { role: 'administrator', dataTypes: [], capabilities: [c] }]),
  ['no grants', { role: 'administrator', dataTypes: [], capabilities: [] }],
];

/** Named grant sets of an administrator holding every grant but one. */
export const ALL_BUT_ONE_GRANT_SETS: readonly [string, GrantSet][] = [
  ...RECORD_TYPES.map((t): [string, GrantSet] => [
    `all but ${t}`,
    { role: 'administrator', dataTypes: RECORD_TYPES.filter((x) => x !== t), capabilities: [...CAPABILITIES] },
  ]),
  ...CAPABILITIES.map((c): [string, GrantSet] => [
    `all but ${c}`,
    { role: 'administrator', dataTypes: [...RECORD_TYPES], capabilities: CAPABILITIES.filter((x) => x !== c) },
  ]),
];
