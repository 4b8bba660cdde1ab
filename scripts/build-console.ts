// `npm run build:console [-- <dir>]`: the console's files, bundled ahead of time (default dist/console), for an API
// started with CONSOLE_ASSETS_DIR pointing there (the image does this) instead of bundling at start.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleConsole } from '../src/api/routes/console-assets';

async function main(): Promise<void> {
  const dir = process.argv[2] ?? join(__dirname, '..', 'dist', 'console');
  await mkdir(dir, { recursive: true });
  const assets = await bundleConsole();
  for (const [name, body] of Object.entries(assets)) await writeFile(join(dir, name), body);
  process.stdout.write(`console bundled into ${dir}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
