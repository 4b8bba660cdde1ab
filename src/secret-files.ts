// Secrets the embedded default makes once under .data/ (the token signing key, the payload keys).
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The JSON in `path`, or `make()`'s, written there first (mode 0600) when the file is missing. Written aside and
 * linked into place, so that of several processes starting at once every one reads the same, complete file.
 */
export async function readOrCreateSecret<T>(path: string, make: () => Promise<T>): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // The file alone is private: .data/ itself must stay traversable for the unprivileged postgres user.
  await mkdir(dirname(path), { recursive: true });
  const aside = `${path}.${process.pid}.tmp`;
  await writeFile(aside, JSON.stringify(await make()), { mode: 0o600 });
  try {
    await link(aside, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(aside);
  }
  return JSON.parse(await readFile(path, 'utf8')) as T;
}
