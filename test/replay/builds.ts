// The builds whose recorded order histories the replay tier keeps, each generation in test/fixtures/histories/<name>/
// (`npm run record-histories -- --build <name>` writes one), with the workflow code each build runs. A release that
// changes the workflow records a generation of its own; a retired build's generation goes with it
// (docs/decisions.md, "Versioning policy").
import { join } from 'node:path';

export interface RecordedBuild {
  /** The build id a versioned build was recorded as, and its folder. */
  name: string;
  /** The workflows module the build's bundle is made from. */
  workflowsPath: string;
  /** Recorded by a worker polling as this Worker Deployment Version (PINNED), or by an unversioned one. */
  versioned: boolean;
  /** Generations this build takes orders over from, so its bundle must replay them as well as its own. */
  replays: string[];
  /** Generations its bundle must refuse: it changed the workflow incompatibly with them. */
  refuses: string[];
}

const thisTree = require.resolve('../../src/workflows');

export const recordedBuilds: RecordedBuild[] = [
  // Recorded by unversioned workers, before versioning: the orders in flight when the first version became current.
  { name: 'unversioned', workflowsPath: thisTree, versioned: false, replays: [], refuses: ['v2'] },
  // The first version runs the same code as the unversioned workers it replaced, and takes their orders over.
  { name: 'v1', workflowsPath: thisTree, versioned: true, replays: ['unversioned'], refuses: ['v2'] },
  // A later build that changed the workflow incompatibly: only versioning can ship it while v1's orders run.
  {
    name: 'v2',
    workflowsPath: require.resolve('./incompatible-workflow'),
    versioned: true,
    replays: [],
    refuses: ['unversioned', 'v1'],
  },
];

export const historiesDir = (build: string) => join(__dirname, '..', 'fixtures', 'histories', build);

export function recordedBuild(name: string): RecordedBuild {
  const build = recordedBuilds.find((b) => b.name === name);
  if (!build) throw new Error(`no recorded build ${name}: one of ${recordedBuilds.map((b) => b.name).join(', ')}`);
  return build;
}
