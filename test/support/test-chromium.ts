import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium (installed by `.ci/run`); tests never download a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Where browser tests save screenshots (gitignored). */
export const TEST_ARTIFACTS_DIR = resolve('test-artifacts');

/** A headless Chromium with a fresh profile, collecting Content-Security-Policy violations from the console. */
export interface TestChromium {
  context: BrowserContext;
  cspViolations: string[];
  close(): Promise<void>;
}

/**
 * Starts Debian's Chromium headless with a throwaway profile and the flags this closed network needs (no background
 * networking, no component updates), and makes sure the artifacts directory exists.
 *
 * @example
 * const browser = await launchTestChromium();
 * const page = await browser.context.newPage();
 */
export async function launchTestChromium(): Promise<TestChromium> {
  await mkdir(TEST_ARTIFACTS_DIR, { recursive: true });
  const profileDir = await mkdtemp(join(tmpdir(), 'retention-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const cspViolations: string[] = [];
  context.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return {
    context,
    cspViolations,
    async close() {
      await context.close();
      await rm(profileDir, { recursive: true, force: true });
    },
  };
}
