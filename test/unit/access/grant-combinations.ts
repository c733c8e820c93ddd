/** Every subset of `values` (the empty one first): for tables over every combination of grants. */
export function subsets<T>(values: readonly T[]): T[][] {
  return values.reduce<T[][]>((all, value) => [...all, ...all.map((set) => [...set, value])], [[]]);
}
