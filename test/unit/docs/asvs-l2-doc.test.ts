import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * `docs/security/asvs-l2.md` maps every OWASP ASVS 4.0.3 level-2 requirement of V2, V3 and V4 to its status and the
 * tests that prove it. This test keeps the map honest: every level-2 id has exactly one row in its own section, every
 * status carries what it must (tests, a reason, an issue), and every cited test name is found literally in a test name
 * of the cited file, so renaming or removing a test breaks the map until it is updated.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC_PATH = 'docs/security/asvs-l2.md';

const range = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}.${from + i}`);

/**
 * Every requirement of ASVS 4.0.3 chapters V2, V3 and V4 whose level-2 column is ticked ("OS assisted" for V2.10).
 * Left out: 2.2.4–2.2.7 and 3.6.x (level 3 only), 2.8.7 (level 2 only recommends it), 4.1.4 (deleted in 4.0.3).
 */
const ASVS_403_LEVEL_2_IDS: readonly string[] = [
  ...range('2.1', 1, 12),
  ...range('2.2', 1, 3),
  ...range('2.3', 1, 3),
  ...range('2.4', 1, 5),
  ...range('2.5', 1, 7),
  ...range('2.6', 1, 3),
  ...range('2.7', 1, 6),
  ...range('2.8', 1, 6),
  ...range('2.9', 1, 3),
  ...range('2.10', 1, 4),
  '3.1.1',
  ...range('3.2', 1, 4),
  ...range('3.3', 1, 4),
  ...range('3.4', 1, 5),
  ...range('3.5', 1, 3),
  '3.7.1',
  '4.1.1',
  '4.1.2',
  '4.1.3',
  '4.1.5',
  '4.2.1',
  '4.2.2',
  ...range('4.3', 1, 3),
];

type Status = 'met' | 'not applicable' | 'not met';

interface Citation {
  file: string;
  name: string;
}

interface Row {
  line: number;
  section: string;
  id: string;
  requirement: string;
  status: Status | undefined;
  /** What follows the status word: how, the reason, or the issue. */
  statusText: string;
  citations: Citation[];
  /** Evidence items that are not of the form `` `file` › name ``. */
  malformed: string[];
}

interface ParsedDoc {
  rows: Row[];
  summary: string | undefined;
  /** The text of the closing "What is not met" section. */
  notMetSection: string;
}

const STATUS_PATTERN = /^(not applicable|not met|met)\b\s*(?:[—:-]\s*)?(.*)$/s;
const ROW_PATTERN = /^\|\s*(\d+\.\d+\.\d+)\s*\|/;
const SECTION_PATTERN = /^#{2,3}\s+V(\d+\.\d+)\b/;
const CITATION_PATTERN = /^`([^`]+)`\s*›\s*(.+)$/s;

function parseDoc(text: string): ParsedDoc {
  const rows: Row[] = [];
  let section: string | undefined;
  let inNotMet = false;
  let notMetSection = '';
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (/^#{1,3}\s/.test(line)) {
      section = SECTION_PATTERN.exec(line)?.[1];
      inNotMet = /^#{2,3}\s+What is not met\b/.test(line);
      continue;
    }
    if (inNotMet) notMetSection += `${line}\n`;
    const id = ROW_PATTERN.exec(line)?.[1];
    if (section === undefined || id === undefined) continue;
    const cells = line
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((cell) => cell.trim());
    const [, requirement = '', statusCell = '', evidence = ''] = cells;
    const status = STATUS_PATTERN.exec(statusCell);
    const items = evidence
      .split(/<br\s*\/?>/)
      .map((item) => item.trim())
      .filter((item) => item !== '' && item !== '—' && item !== '-');
    const citations: Citation[] = [];
    const malformed: string[] = [];
    for (const item of items) {
      const match = CITATION_PATTERN.exec(item);
      if (match?.[1] !== undefined && match[2] !== undefined) citations.push({ file: match[1].trim(), name: match[2].trim() });
      else malformed.push(item);
    }
    if (cells.length !== 4) malformed.push(`row has ${cells.length} cells, not 4 (a "|" inside a cell?)`);
    rows.push({
      line: index + 1,
      section,
      id,
      requirement,
      status: status?.[1] as Status | undefined,
      statusText: (status?.[2] ?? '').trim(),
      citations,
      malformed,
    });
  }
  const summary = /^Summary:.*$/m.exec(text)?.[0];
  return { rows, summary, notMetSection };
}

const TEST_FUNCTIONS = new Set(['it', 'test', 'describe']);

/** True when `callee` is `it`, `test` or `describe`, possibly through `.each(…)`, `.skip`, `.only`, `.concurrent`… */
function isTestCallee(callee: ts.Expression): boolean {
  if (ts.isIdentifier(callee)) return TEST_FUNCTIONS.has(callee.text);
  if (ts.isPropertyAccessExpression(callee)) return isTestCallee(callee.expression);
  if (ts.isCallExpression(callee)) return isTestCallee(callee.expression);
  if (ts.isTaggedTemplateExpression(callee)) return isTestCallee(callee.tag);
  return false;
}

/** The literal text of a test name: a string, a template without substitutions, or each literal part of a template. */
function literalParts(node: ts.Expression | undefined): string[] {
  if (node === undefined) return [];
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isTemplateExpression(node)) return [node.head.text, ...node.templateSpans.map((span) => span.literal.text)];
  return [];
}

const testNamesCache = new Map<string, string[]>();

/** Every literal first argument of an `it`/`it.each(…)`/`test`/`describe` call in the file (read statically). */
function testNamesOf(file: string): string[] {
  const cached = testNamesCache.get(file);
  if (cached !== undefined) return cached;
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && isTestCallee(node.expression)) names.push(...literalParts(node.arguments[0]));
    ts.forEachChild(node, visit);
  };
  visit(source);
  testNamesCache.set(file, names);
  return names;
}

const doc = parseDoc(readFileSync(join(ROOT, DOC_PATH), 'utf8'));
const where = (row: Row): string => `${DOC_PATH}:${row.line} (${row.id})`;

describe(`${DOC_PATH}: the ASVS 4.0.3 level-2 map of V2, V3 and V4`, () => {
  it('has a row for every level-2 requirement, exactly once, under its own section', () => {
    const problems: string[] = [];
    const ids = doc.rows.map((row) => row.id);
    for (const id of ASVS_403_LEVEL_2_IDS) if (!ids.includes(id)) problems.push(`${id}: no row (a level-2 requirement of ASVS 4.0.3)`);
    const seen = new Set<string>();
    for (const row of doc.rows) {
      if (!ASVS_403_LEVEL_2_IDS.includes(row.id)) problems.push(`${where(row)}: not a level-2 requirement of ASVS 4.0.3 V2–V4`);
      if (seen.has(row.id)) problems.push(`${where(row)}: a second row for ${row.id}`);
      seen.add(row.id);
      if (!row.id.startsWith(`${row.section}.`)) problems.push(`${where(row)}: under section V${row.section}`);
      if (row.requirement.length < 10) problems.push(`${where(row)}: no requirement text`);
    }
    expect(problems).toEqual([]);
    expect(ids).toHaveLength(ASVS_403_LEVEL_2_IDS.length);
  });

  it('gives every row a status: met with a test, not applicable with a reason, not met with what will meet it', () => {
    const problems: string[] = [];
    for (const row of doc.rows) {
      if (row.status === undefined) problems.push(`${where(row)}: the status must start with "met", "not applicable" or "not met"`);
      if (row.status === 'met' && row.citations.length === 0) problems.push(`${where(row)}: met, but no test is cited`);
      if (row.status === 'not applicable' && row.statusText.length < 20) problems.push(`${where(row)}: not applicable, but no reason is given`);
      if (row.status === 'not met' && !/#\d+|needs a test|no issue yet/.test(row.statusText)) {
        problems.push(`${where(row)}: not met, but names no issue (#N), nor "needs a test", nor "no issue yet"`);
      }
      for (const item of row.malformed) problems.push(`${where(row)}: evidence "${item}" is not \`test file\` › test name`);
    }
    expect(problems).toEqual([]);
  });

  it('cites only test files that exist and test names that appear literally in them', () => {
    const problems: string[] = [];
    for (const row of doc.rows) {
      for (const { file, name } of row.citations) {
        if (!/^test\/.+\.test\.ts$/.test(file) || !existsSync(join(ROOT, file))) {
          problems.push(`${where(row)}: ${file} is not a test file of this repository`);
          continue;
        }
        if (!testNamesOf(file).some((testName) => testName.includes(name))) problems.push(`${where(row)}: no test name in ${file} contains "${name}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('states the counts of the table in its summary, and lists every row that is not met at the end', () => {
    const count = (status: Status): number => doc.rows.filter((row) => row.status === status).length;
    expect(doc.summary).toBe(
      `Summary: ${doc.rows.length} requirements: ${count('met')} met, ${count('not applicable')} not applicable, ${count('not met')} not met.`,
    );
    const listed = new Set(doc.notMetSection.match(/\b\d+\.\d+\.\d+\b/g) ?? []);
    const notMet = doc.rows.filter((row) => row.status === 'not met').map((row) => row.id);
    expect([...listed].sort()).toEqual([...notMet].sort());
  });
});
