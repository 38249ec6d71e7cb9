/**
 * A real browser for the console tests: Debian's chromium (the Makefile installs it), driven headless by
 * playwright-core (which downloads no browser), with a fresh profile of its own that is removed after.
 * `chromiumMissing` says why it cannot run; gate tests with test/helpers/ci.ts gatedTest (CI fails).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const chromiumMissing: string | undefined = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`;

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'sigil-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1400, height: 900 },
      timeout: 60_000,
    });
    return {
      context,
      async close() {
        await context.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}
