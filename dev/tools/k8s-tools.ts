// Obtains what `npm run check:k8s` runs — helm, kubeconform and its schemas, kube-apiserver, kubectl, etcd — each
// built or installed once into the tools cache (see cache.ts) and reused from there.
import { access, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toolsCacheDir } from './cache';
import { findOnPath, installAtomically, isExecutable, run, type Log } from './exec';

export const HELM_VERSION = '3.22.0';
export const KUBECONFORM_VERSION = '0.8.0';
/** kube-apiserver and kubectl; the wrapper module in dev/wrappers/kube-apiserver pins the same release. */
export const KUBERNETES_VERSION = '1.37.2';
/** The PyPI package whose `-local-strict` schemas kubeconform reads; its 1.37 schemas match KUBERNETES_VERSION. */
export const KUBERNETES_VALIDATE_VERSION = '1.37.0';

/** temporal-worker-controller, whose custom resources the chart renders for a versioned orders worker. */
export const WORKER_CONTROLLER_VERSION = '1.8.1';
const WORKER_CONTROLLER_MODULE = 'github.com/temporalio/temporal-worker-controller';
/** The module's hash as go.sum pins it (sum.golang.org has the same): the CRDs are exactly those of the tag. */
const WORKER_CONTROLLER_SUM = 'h1:fyGqkeh8sQ0QIoCpko1iUgZ+TbKTyivgTBouiHMPaoM=';
/** The CRDs in the module's CRD chart (plain YAML, no templating) that the chart's resources need. */
const WORKER_CONTROLLER_CRDS = [
  'temporal.io_connections.yaml',
  'temporal.io_workerdeployments.yaml',
  'temporal.io_workerresourcetemplates.yaml',
];

const wrapperModuleDir = resolve(__dirname, '..', 'wrappers', 'kube-apiserver');

async function requireGo(): Promise<string> {
  const go = await findOnPath('go');
  if (!go) throw new Error('go (1.26 or later) is needed on PATH to build the Kubernetes tools');
  return go;
}

/** Runs a go command; when the checksum database is unreachable, once more without it (the proxy still serves). */
async function runGo(go: string, args: string[], env: NodeJS.ProcessEnv, log?: Log): Promise<string> {
  try {
    return await run(go, args, env);
  } catch (error) {
    if (!(error instanceof Error && /verifying|checksum database/i.test(error.message))) throw error;
    log?.('checksum database unreachable; retrying with GOSUMDB=off');
    return run(go, args, { ...env, GOSUMDB: 'off' });
  }
}

/** `go install module@version` into `<cache>/<name>-<version>/`, unless it is there already. */
async function goInstalled(name: string, modulePath: string, version: string, log?: Log): Promise<string> {
  const dir = join(toolsCacheDir(), `${name}-${version}`);
  const binary = join(dir, name);
  if (await isExecutable(binary)) return binary;
  const go = await requireGo();
  log?.(`building ${name} ${version} with go install (a minute or two on a cold Go cache)`);
  await installAtomically(dir, name, async (tmpDir) => {
    await runGo(
      go,
      ['install', '-trimpath', '-ldflags=-s -w', `${modulePath}@v${version}`],
      { ...process.env, CGO_ENABLED: '0', GOBIN: tmpDir },
      log,
    );
  });
  return binary;
}

export function resolveHelm(log?: Log): Promise<string> {
  return goInstalled('helm', 'helm.sh/helm/v3/cmd/helm', HELM_VERSION, log);
}

export function resolveKubeconform(log?: Log): Promise<string> {
  return goInstalled('kubeconform', 'github.com/yannh/kubeconform/cmd/kubeconform', KUBECONFORM_VERSION, log);
}

export interface KubeBinaries {
  apiserver: string;
  kubectl: string;
}

/**
 * kube-apiserver and kubectl from k8s.io/kubernetes, built through the wrapper module (about 5 minutes cold on
 * 2 cores). The version variables are set as a release build sets them, so kubectl and helm can parse them.
 */
export async function resolveKubeBinaries(log?: Log): Promise<KubeBinaries> {
  const dir = join(toolsCacheDir(), `kubernetes-${KUBERNETES_VERSION}`);
  const binaries = { apiserver: join(dir, 'kube-apiserver'), kubectl: join(dir, 'kubectl') };
  if ((await isExecutable(binaries.apiserver)) && (await isExecutable(binaries.kubectl))) return binaries;
  const go = await requireGo();
  const [major, minor] = KUBERNETES_VERSION.split('.');
  const versionFlags = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=v${KUBERNETES_VERSION}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]);
  log?.(`building kube-apiserver and kubectl ${KUBERNETES_VERSION} (about 5 minutes on a cold Go cache)`);
  await installAtomically(dir, 'kubectl', async (tmpDir) => {
    await runGo(
      go,
      [
        '-C',
        wrapperModuleDir,
        'build',
        '-trimpath',
        `-ldflags=-s -w ${versionFlags.join(' ')}`,
        '-o',
        `${tmpDir}/`,
      ].concat(['k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kubectl']),
      { ...process.env, CGO_ENABLED: '0' },
      log,
    );
  });
  return binaries;
}

/**
 * The worker controller's CRDs, from its Go module as the module proxy serves it (`go mod download`, its hash checked
 * against WORKER_CONTROLLER_SUM), copied once into the tools cache; the directory that holds them.
 */
export async function resolveWorkerControllerCrds(log?: Log): Promise<string> {
  const dir = join(toolsCacheDir(), `temporal-worker-controller-crds-${WORKER_CONTROLLER_VERSION}`);
  const marker = '.complete';
  if (await exists(join(dir, marker))) return dir;
  const go = await requireGo();
  log?.(`downloading ${WORKER_CONTROLLER_MODULE}@v${WORKER_CONTROLLER_VERSION} from the Go module proxy for its CRDs`);
  await installAtomically(dir, marker, async (tmpDir) => {
    // Outside any module (-C), so no go.mod around decides what is downloaded.
    const output = await runGo(
      go,
      ['-C', tmpDir, 'mod', 'download', '-json', `${WORKER_CONTROLLER_MODULE}@v${WORKER_CONTROLLER_VERSION}`],
      process.env,
      log,
    );
    const { Dir: moduleDir, Sum: sum } = JSON.parse(output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1)) as {
      Dir: string;
      Sum: string;
    };
    if (sum !== WORKER_CONTROLLER_SUM) {
      throw new Error(
        `${WORKER_CONTROLLER_MODULE}@v${WORKER_CONTROLLER_VERSION} has hash ${sum}, not ${WORKER_CONTROLLER_SUM}`,
      );
    }
    const crdDir = join(moduleDir, 'helm', 'temporal-worker-controller-crds', 'templates');
    for (const file of WORKER_CONTROLLER_CRDS) await copyFile(join(crdDir, file), join(tmpDir, file));
    // installAtomically takes an executable marker as the sign of a finished install.
    await writeFile(join(tmpDir, marker), '', { mode: 0o755 });
  });
  return dir;
}

/** etcd from Debian's etcd-server package, installed with apt-get when missing (CI runs as root). */
export async function resolveEtcd(log?: Log): Promise<string> {
  const onPath = (await findOnPath('etcd')) ?? ((await isExecutable('/usr/bin/etcd')) ? '/usr/bin/etcd' : undefined);
  if (onPath) return onPath;
  const aptGet = await findOnPath('apt-get');
  if (!aptGet || process.getuid?.() !== 0) throw new Error('etcd is missing: install Debian package etcd-server');
  log?.('installing etcd-server with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run(aptGet, ['update', '-qq'], env);
  await run(aptGet, ['install', '-y', '-qq', '--no-install-recommends', 'etcd-server'], env);
  return '/usr/bin/etcd';
}

/**
 * A directory of kubeconform schemas that needs no network: the `-local-strict` set of the PyPI package
 * kubernetes-validate (pip-installed into a cache venv), with each `$id` dropped and the absolute
 * `/api/_definitions.json` references made relative, so they resolve to the file beside each schema.
 */
export async function resolveKubeconformSchemas(log?: Log): Promise<string> {
  const root = join(toolsCacheDir(), `kubernetes-validate-${KUBERNETES_VALIDATE_VERSION}`);
  const schemaDir = join(root, 'schemas');
  const marker = '.complete';
  if (await exists(join(schemaDir, marker))) return schemaDir;
  const python = (await findOnPath('python3')) ?? (await findOnPath('python'));
  if (!python) throw new Error('python3 is needed to install the kubeconform schemas (PyPI: kubernetes-validate)');
  log?.(`installing kubernetes-validate ${KUBERNETES_VALIDATE_VERSION} into a venv and rewriting its schemas`);
  await installAtomically(root, join('schemas', marker), async (tmpDir) => {
    const venv = join(tmpDir, 'venv');
    await run(python, ['-m', 'venv', venv]);
    // Only its schema files are used, so none of its dependencies is needed.
    await run(join(venv, 'bin', 'pip'), [
      'install',
      '--quiet',
      '--no-deps',
      '--disable-pip-version-check',
      `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`,
    ]);
    const libDir = join(venv, 'lib');
    const [pythonDir] = await readdir(libDir);
    const source = join(
      libDir,
      pythonDir,
      'site-packages',
      'kubernetes_validate',
      'kubernetes-json-schema',
      `v${KUBERNETES_VALIDATE_VERSION}-local-strict`,
    );
    await rewriteSchemas(source, join(tmpDir, 'schemas'));
    // installAtomically takes an executable marker as the sign of a finished install.
    await writeFile(join(tmpDir, 'schemas', marker), '', { mode: 0o755 });
  });
  return schemaDir;
}

async function rewriteSchemas(sourceDir: string, targetDir: string): Promise<void> {
  await mkdir(targetDir, { recursive: true });
  for (const name of await readdir(sourceDir)) {
    if (!name.endsWith('.json')) continue;
    const schema = JSON.parse(await readFile(join(sourceDir, name), 'utf8')) as Record<string, unknown>;
    delete schema.$id;
    const text = JSON.stringify(schema).replaceAll('"/api/_definitions.json#', '"_definitions.json#');
    await writeFile(join(targetDir, name), text);
  }
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
