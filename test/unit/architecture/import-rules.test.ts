import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findForbiddenImports, findImportCycles, readImportGraph } from './import-graph.js';

const REPOSITORY = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const PRODUCTION_FOLDERS = ['src', 'worker', 'bin'];
const NOT_SHIPPED_FOLDERS = ['test', 'bench'];

function describeCycles(cycles: string[][]): string[] {
  return cycles.map((cycle) => cycle.join(' -> '));
}

describe('import rules of the production code (src/, worker/, bin/)', () => {
  const graph = readImportGraph(REPOSITORY, PRODUCTION_FOLDERS);

  it('reads the production code', () => {
    expect(graph.has('src/config.ts')).toBe(true);
    expect(graph.has('worker/main.ts')).toBe(true);
  });

  it('has no import cycles (type-only imports included)', () => {
    expect(describeCycles(findImportCycles(graph))).toEqual([]);
  });

  it('never imports test/ or bench/', () => {
    const forbidden = findForbiddenImports(REPOSITORY, graph, NOT_SHIPPED_FOLDERS).map(({ from, specifier }) => `${from} imports ${specifier}`);
    expect(forbidden).toEqual([]);
  });
});

describe('the import rules find what they look for', () => {
  let root: string;

  const files: Record<string, string> = {
    'src/a/first.ts': "import type { Second } from './second.js';\nexport interface First { second?: Second }\n",
    'src/a/second.ts': "import { third } from '../b/third.js';\nexport interface Second { n: number }\nexport const s = third;\n",
    'src/b/third.ts': "export { type First } from '../a/first.js';\nexport const third = 3;\n",
    'src/c/self.ts': "export * from './self.js';\n",
    'src/c/lazy.ts': "export const load = () => import('../../test/support/helper.js');\n",
    'worker/main.ts': "import '../bench/run.js';\nimport { third } from '../src/b/third.js';\nexport const w = third;\n",
    'test/support/helper.ts': 'export const helper = 1;\n',
    'bench/run.ts': 'export {};\n',
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'import-rules-'));
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('names every cycle, through type-only imports and re-exports, and a file importing itself', () => {
    const cycles = describeCycles(findImportCycles(readImportGraph(root, PRODUCTION_FOLDERS)));
    expect(cycles.sort()).toEqual(['src/a/first.ts -> src/a/second.ts -> src/b/third.ts -> src/a/first.ts', 'src/c/self.ts -> src/c/self.ts']);
  });

  it('names every import of test/ or bench/, dynamic imports included', () => {
    const graph = readImportGraph(root, PRODUCTION_FOLDERS);
    const forbidden = findForbiddenImports(root, graph, NOT_SHIPPED_FOLDERS).map(({ from, to }) => `${from} -> ${to}`);
    expect(forbidden.sort()).toEqual(['src/c/lazy.ts -> test/support/helper.ts', 'worker/main.ts -> bench/run.ts']);
  });
});
