import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** The relative imports of a set of source folders: file → the files it imports, all as repository-relative paths. */
export type ImportGraph = Map<string, string[]>;

/** One relative import that points into a folder production code must not reach. */
export interface ForbiddenImport {
  from: string;
  specifier: string;
  to: string;
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

function listSourceFiles(directory: string): string[] {
  if (!existsSync(directory)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...listSourceFiles(path));
    else if (SOURCE_EXTENSIONS.some((extension) => entry.name.endsWith(extension)) && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function resolveRelative(fromFile: string, specifier: string): string {
  const target = resolve(dirname(fromFile), specifier);
  const candidates = [target];
  const jsExtension = /\.(m?)js$/.exec(target);
  if (jsExtension) candidates.push(target.slice(0, -jsExtension[0].length) + `.${jsExtension[1]}ts`);
  candidates.push(...SOURCE_EXTENSIONS.map((extension) => target + extension));
  candidates.push(...SOURCE_EXTENSIONS.map((extension) => join(target, `index${extension}`)));
  return candidates.find(isFile) ?? target;
}

/**
 * Reads every relative import (static, type-only, re-exports and `import()` with a literal) of the source files under
 * `folders` of `root`, resolving `./x.js` to `./x.ts` as NodeNext does. Package imports are left out.
 *
 * @example
 * ```ts
 * const graph = readImportGraph(process.cwd(), ['src', 'worker']);
 * graph.get('src/import/import-manifest.ts'); // ['src/archive/drop-layout.ts', …]
 * ```
 */
export function readImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const folder of folders) {
    for (const file of listSourceFiles(join(root, folder))) {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      const targets = importedFiles
        .map(({ fileName }) => fileName)
        .filter((specifier) => specifier.startsWith('./') || specifier.startsWith('../'))
        .map((specifier) => toPosix(relative(root, resolveRelative(file, specifier))));
      graph.set(toPosix(relative(root, file)), [...new Set(targets)]);
    }
  }
  return graph;
}

/**
 * The import cycles of a graph, one per strongly connected component (Tarjan), each as the path of files that
 * returns to its first: `['a.ts', 'b.ts', 'a.ts']`. A file importing itself is a cycle too.
 */
export function findImportCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  const visit = (file: string): void => {
    index.set(file, counter);
    lowLink.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        lowLink.set(file, Math.min(lowLink.get(file)!, lowLink.get(next)!));
      } else if (onStack.has(next)) {
        lowLink.set(file, Math.min(lowLink.get(file)!, index.get(next)!));
      }
    }
    if (lowLink.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      const selfImport = (graph.get(file) ?? []).includes(file);
      if (component.length > 1 || selfImport) components.push(component);
    }
  };

  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file);
  return components.map((component) => cycleThrough(graph, new Set(component)));
}

function cycleThrough(graph: ImportGraph, component: Set<string>): string[] {
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const next of graph.get(file) ?? []) {
      if (!component.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let step: string | undefined = file; step !== undefined && step !== start; step = previous.get(step)) path.splice(1, 0, step);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, file);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** The imports in `graph` whose target lies under one of `forbiddenFolders` (repository-relative, e.g. `test`). */
export function findForbiddenImports(root: string, graph: ImportGraph, forbiddenFolders: readonly string[]): ForbiddenImport[] {
  const forbidden: ForbiddenImport[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (forbiddenFolders.some((folder) => to === folder || to.startsWith(`${folder}/`))) {
        forbidden.push({ from, specifier: toPosix(relative(dirname(join(root, from)), join(root, to))), to });
      }
    }
  }
  return forbidden;
}
