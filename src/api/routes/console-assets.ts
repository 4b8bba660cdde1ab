// The console's files: bundled from src/console/ with esbuild when the API starts (about a second, in memory), or
// read from a directory built ahead of time (`npm run build:console`, which the image does).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

export const CONSOLE_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;

export type ConsoleFile = keyof typeof CONSOLE_FILES;
export type ConsoleAssets = Record<ConsoleFile, Buffer>;

const sourceDir = join(__dirname, '..', '..', 'console');

/** The bundle (console.js, console.css) and the page, as files to serve. */
export async function bundleConsole(): Promise<ConsoleAssets> {
  const result = await build({
    entryPoints: { console: join(sourceDir, 'main.tsx') },
    bundle: true,
    minify: true,
    write: false,
    outdir: 'out',
    format: 'iife',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const output = (name: string) => {
    const file = result.outputFiles.find((f) => f.path.endsWith(`/${name}`));
    if (!file) throw new Error(`the console bundle has no ${name}`);
    return Buffer.from(file.contents);
  };
  return {
    'index.html': await readFile(join(sourceDir, 'index.html')),
    'console.js': output('console.js'),
    'console.css': output('console.css'),
  };
}

/** The files of a directory written by `npm run build:console`. */
export async function readConsoleAssets(dir: string): Promise<ConsoleAssets> {
  const entries = await Promise.all(
    (Object.keys(CONSOLE_FILES) as ConsoleFile[]).map(async (name) => [name, await readFile(join(dir, name))] as const),
  );
  return Object.fromEntries(entries) as ConsoleAssets;
}

export function loadConsoleAssets(prebuiltDir: string | undefined): Promise<ConsoleAssets> {
  return prebuiltDir ? readConsoleAssets(prebuiltDir) : bundleConsole();
}
