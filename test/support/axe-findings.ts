import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';

/**
 * Axe-core's serious and critical findings (WCAG 2.1 A and AA) on the page the browser shows, one line each: rule,
 * impact, what, where (the first five elements).
 *
 * @example
 * expect(await seriousAxeFindings(page)).toEqual([]);
 */
export async function seriousAxeFindings(page: Page): Promise<string[]> {
  // Legacy mode runs axe in the page itself, without opening a helper tab per run: twice as fast, and the portal has no frames.
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).setLegacyMode(true).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact ?? ''}): ${violation.help} at ${violation.nodes
          .slice(0, 5)
          .map((node) => node.target.join(' '))
          .join(', ')}`,
    );
}
