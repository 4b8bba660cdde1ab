// `npm run check:compose`: validates docker-compose.yml without a Docker engine, through the Go checker
// in dev/wrappers/compose-check (compose-go, as `docker compose config` uses). `go run` reuses Go's build cache.
// Then docker-compose.observability.yml merged over it, as `docker compose -f … -f …` merges them.
// Optional arguments check other compose files instead (merged in order), resolved against the repository.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const given = process.argv.slice(2).map((file) => path.resolve(file));
const main = path.join(root, 'docker-compose.yml');
const runs = given.length > 0 ? [given] : [[main], [main, path.join(root, 'docker-compose.observability.yml')]];

function shown(file: string): string {
  const relativeFile = path.relative(process.cwd(), file);
  return relativeFile.startsWith('..') ? file : relativeFile;
}

for (const files of runs) {
  const result = spawnSync('go', ['run', '.', '-project-dir', root, ...files.flatMap((file) => ['-file', file])], {
    cwd: path.join(root, 'dev', 'wrappers', 'compose-check'),
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  // The checker explains its failures; `go run` only adds "exit status N".
  process.stderr.write((result.stderr ?? '').replace(/^exit status \d+\n$/m, ''));

  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    console.error(
      missing
        ? 'check:compose needs Go (1.24 or later) on PATH to run dev/wrappers/compose-check.'
        : `check:compose could not run the Go checker: ${result.error.message}`,
    );
    process.exit(2);
  }
  if (result.status !== 0) {
    console.error(`check:compose: ${files.map(shown).join(' + ')} failed the check (details above).`);
    process.exit(result.status ?? 1);
  }
  console.log('');
}
