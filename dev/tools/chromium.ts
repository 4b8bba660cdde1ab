// Debian's headless Chromium driven by puppeteer-core (which downloads no browser): a fresh context per case, the
// page's console errors collected to fail on, and a screenshot of the page written when a case fails.
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Outside the tree: a failed case leaves its page here, and says so. */
export const SCREENSHOT_DIR = join(tmpdir(), 'order-system-console-screenshots');

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(`no Chromium at ${path}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return path;
}

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // As root in a container: no user namespace sandbox, and /dev/shm may be small.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--lang=en-GB'],
  });
}

export interface Viewport {
  width: number;
  height: number;
}

export const DESKTOP: Viewport = { width: 1280, height: 900 };
export const PHONE: Viewport = { width: 390, height: 844 };

export interface CaseOptions {
  viewport?: Viewport;
  /** Console errors this case provokes on purpose (a refused token's 401, say). */
  expectedErrors?: RegExp[];
}

/**
 * Runs `body` on a new page in a context of its own (its own sessionStorage). Fails when the page logged an error
 * it did not expect; on any failure, writes a screenshot and names it in the error.
 */
export async function onPage(
  browser: Browser,
  name: string,
  body: (page: Page) => Promise<void>,
  { viewport = DESKTOP, expectedErrors = [] }: CaseOptions = {},
): Promise<void> {
  const context = await browser.createBrowserContext();
  const errors: string[] = [];
  try {
    const page = await context.newPage();
    await page.setViewport(viewport);
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = `${message.text()} (${message.location().url ?? 'page'})`;
      if (!expectedErrors.some((pattern) => pattern.test(text))) errors.push(text);
    });
    page.on('pageerror', (error) => errors.push(`uncaught: ${error instanceof Error ? error.message : String(error)}`));
    try {
      await body(page);
      if (errors.length > 0) throw new Error(`the page logged errors:\n${errors.join('\n')}`);
    } catch (error) {
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      const path = join(SCREENSHOT_DIR, `${name.replace(/[^\w-]+/g, '-')}.png`);
      const saved = await page.screenshot({ path, fullPage: true }).then(
        () => `screenshot: ${path}`,
        (failure: unknown) => `no screenshot (${String(failure)})`,
      );
      console.error(`browser case "${name}" failed; ${saved}`);
      if (error instanceof Error) error.message += `\n${saved}`;
      throw error;
    }
  } finally {
    await context.close();
  }
}
