// `npm run fuzz:api [-- <seconds>]`: Schemathesis against the API as it runs (the e2e stack: PostgreSQL, the dev
// server, both workers, the API), every check, its coverage and fuzzing phases, with an operator's token. It holds
// /openapi.json to what the API does: a schema-valid request refused, an answer outside its schema, or a 500 fails.
// Schemathesis comes from PyPI into a virtualenv in the tools cache (outside the tree), once.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toolsCacheDir } from '../dev/tools/cache';
import { startStack } from '../dev/stack/stack';

const SCHEMATHESIS_VERSION = '4.32.5';
const seconds = Number(process.argv[2] ?? 300);

function run(command: string, args: string[], cwd?: string): number {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  return result.status ?? 1;
}

/** The `st` command of a virtualenv holding this Schemathesis version, made when missing. */
function schemathesis(): string {
  const venv = path.join(toolsCacheDir(), `schemathesis-${SCHEMATHESIS_VERSION}`);
  const st = path.join(venv, 'bin', 'st');
  if (existsSync(st)) return st;
  console.log(`fuzz:api: installing Schemathesis ${SCHEMATHESIS_VERSION} into ${venv}`);
  if (run('python3', ['-m', 'venv', venv]) !== 0) throw new Error('python3 -m venv failed (Python 3.9+ needed)');
  const pip = path.join(venv, 'bin', 'pip');
  if (run(pip, ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`]) !== 0) {
    throw new Error(`pip could not install schemathesis==${SCHEMATHESIS_VERSION}`);
  }
  return st;
}

async function main(): Promise<void> {
  if (!Number.isFinite(seconds) || seconds < 10) throw new Error('the time budget is a number of seconds, 10 or more');
  const st = schemathesis();
  // The fuzzer outpaces an operator's default rate limit; deliveries fall due while it runs, so cancels meet each state.
  const stack = await startStack('fuzz', {
    api: { DELIVERY_DELAY_SECONDS: '30', RATE_LIMIT_OPERATOR_PER_MINUTE: '1000000' },
  });
  // Schemathesis keeps a cache in its working directory: a temporary one, so nothing is left in the tree.
  const workDir = await mkdtemp(path.join(tmpdir(), 'fuzz-api-'));
  let status = 1;
  try {
    status = run(
      st,
      [
        'run',
        `${stack.apiUrl}/openapi.json`,
        '--header',
        `Authorization: Bearer ${stack.operatorToken}`,
        '--checks',
        'all',
        '--phases',
        'coverage,fuzzing',
        // One worker: schemathesis compiles schemas in threads, which Python 3.11 can fail at ("AST constructor").
        '--workers',
        '1',
        // A cancel may wait out CANCEL_DECISION_TIMEOUT_MS (5 s) before it is kept as a signal.
        '--request-timeout',
        '20',
        '--max-time',
        String(seconds),
        '--generation-database',
        'none',
      ],
      workDir,
    );
  } finally {
    await stack.stop();
    await rm(workDir, { recursive: true, force: true });
  }
  process.exit(status);
}

main().catch((error: unknown) => {
  console.error(`fuzz:api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
