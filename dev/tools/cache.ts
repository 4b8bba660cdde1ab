import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where built and fetched tools live: outside the work tree, so fresh clones (and CI checkouts) reuse them. */
export function toolsCacheDir(): string {
  return process.env.ORDER_SYSTEM_CACHE || join(homedir(), '.cache', 'order-system');
}

/** The SDK's own download of a server, kept in the same cache rather than the temp dir. */
export async function sdkDownloadIntoCache(): Promise<{ type: 'cached-download'; downloadDir: string }> {
  const downloadDir = toolsCacheDir();
  await mkdir(downloadDir, { recursive: true });
  return { type: 'cached-download', downloadDir };
}
