// `npm run check:compose`: validates docker-compose.yml without a Docker engine, through the Go checker
// in tools/compose-check (compose-go, as `docker compose config` uses). `go run` reuses Go's build cache.
// An optional argument checks another compose file, resolved against the repository as the real one is.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const composeFile = path.resolve(process.argv[2] ?? path.join(root, 'docker-compose.yml'));
const relativeFile = path.relative(process.cwd(), composeFile);
const shownFile = relativeFile.startsWith('..') ? composeFile : relativeFile;

const result = spawnSync('go', ['run', '.', '-project-dir', root, '-file', composeFile], {
  cwd: path.join(root, 'tools', 'compose-check'),
  stdio: ['ignore', 'inherit', 'pipe'],
  encoding: 'utf8',
});
// The checker explains its failures; `go run` only adds "exit status N".
process.stderr.write((result.stderr ?? '').replace(/^exit status \d+\n$/m, ''));

if (result.error) {
  const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
  console.error(
    missing
      ? 'check:compose needs Go (1.24 or later) on PATH to run tools/compose-check.'
      : `check:compose could not run the Go checker: ${result.error.message}`,
  );
  process.exit(2);
}
if (result.status !== 0) {
  console.error(`check:compose: ${shownFile} failed the check (details above).`);
  process.exit(result.status ?? 1);
}
