// `npm run check:k8s`: proves the Helm chart in deploy/helm/order-system against Kubernetes without a cluster.
// helm lint and template over every values file in the chart's ci/ folder, kubeconform's strict schemas, then a
// real kube-apiserver (with etcd, on loopback) for `helm install --dry-run=server` and `kubectl apply
// --dry-run=server`; the objects the worker controller makes of each WorkerResourceTemplate (the versioned orders
// worker's PodDisruptionBudget and ScaledObject) checked the same way; last, broken renderings that must be refused,
// so the check is known to bite.
// The tools are built once into the tools cache (dev/tools/k8s-tools.ts); every process started is stopped.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crdSchemaLocation, writeCrdSchemas } from '../dev/tools/crd-schemas';
import { perVersionObjects } from '../dev/tools/worker-resource-templates';
import { run } from '../dev/tools/exec';
import { startKubeApiServer, type KubeApiServer } from '../dev/tools/kube-apiserver';
import {
  HELM_VERSION,
  KUBECONFORM_VERSION,
  KUBERNETES_VALIDATE_VERSION,
  KUBERNETES_VERSION,
  resolveEtcd,
  resolveHelm,
  resolveKubeBinaries,
  resolveKubeconform,
  resolveKubeconformSchemas,
  resolveWorkerControllerCrds,
  WORKER_CONTROLLER_VERSION,
} from '../dev/tools/k8s-tools';

const root = path.resolve(__dirname, '..');
const chartDir = path.join(root, 'deploy', 'helm', 'order-system');
const crdDir = path.join(root, 'deploy', 'helm', 'crds-for-check');
const releaseName = 'order-system';
// Custom resources have no schema in kubeconform's set: they are checked once the CRDs are in the API server.
const customKinds = [
  'ScaledObject',
  'TriggerAuthentication',
  'ServiceMonitor',
  'WorkerDeployment',
  'Connection',
  'WorkerResourceTemplate',
];

const started = Date.now();
const say = (line: string) => process.stdout.write(`[check:k8s] ${line}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

async function step<T>(name: string, body: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
  const stepStarted = Date.now();
  say(`${name} ...`);
  const result = await body();
  say(`${name}: ${describe ? `${describe(result)}, ` : ''}ok (${seconds(stepStarted)})`);
  return result;
}

/**
 * A change to a rendering that the check must refuse: the API server, or kubeconform and the API server on what the
 * worker controller makes of a WorkerResourceTemplate. `from` must occur in the rendering.
 */
interface BrokenVariant {
  name: string;
  /** The rendering it starts from: a values file's name in ci/. */
  rendering: string;
  from: string;
  to: string;
}

// Each changes the first occurrence only; in helm's output order the first Deployment is the API's.
const brokenVariants: BrokenVariant[] = [
  {
    name: 'wrong field (terminationGracePeriod)',
    rendering: 'minimal-values',
    from: 'terminationGracePeriodSeconds:',
    to: 'terminationGracePeriod:',
  },
  {
    name: 'selector that does not match the pod template',
    rendering: 'minimal-values',
    from: '        app.kubernetes.io/component: api\n',
    to: '        app.kubernetes.io/component: api-v2\n',
  },
  { name: 'bad quantity (512MiB)', rendering: 'minimal-values', from: 'memory: 512Mi\n', to: 'memory: 512MiB\n' },
  {
    name: 'ScaledObject with a wrong field (minReplicas)',
    rendering: 'keda-values',
    from: '  minReplicaCount:',
    to: '  minReplicas:',
  },
  {
    name: 'versioned: a Progressive step paused for less than the 30 s the CRD requires',
    rendering: 'versioning-values',
    from: 'pauseDuration: 5m\n',
    to: 'pauseDuration: 10s\n',
  },
  {
    name: "versioned: a wrong field in the WorkerResourceTemplate's ScaledObject (minReplicas)",
    rendering: 'versioning-values',
    from: 'kind: ScaledObject\n    spec:\n      scaleTargetRef: {}\n      minReplicaCount:',
    to: 'kind: ScaledObject\n    spec:\n      scaleTargetRef: {}\n      minReplicas:',
  },
  {
    name: "versioned: a wrong field in the WorkerResourceTemplate's PodDisruptionBudget (maxUnavailabel)",
    rendering: 'versioning-mtls-values',
    from: 'kind: PodDisruptionBudget\n    spec:\n      maxUnavailable:',
    to: 'kind: PodDisruptionBudget\n    spec:\n      maxUnavailabel:',
  },
];

interface Tools {
  helm: string;
  kubeconform: string;
  schemas: string;
  apiserver: string;
  kubectl: string;
  etcd: string;
  workerControllerCrds: string;
}

async function obtainTools(): Promise<Tools> {
  const log = (line: string) => say(`  ${line}`);
  const helm = await step(`helm ${HELM_VERSION}`, () => resolveHelm(log), String);
  const kubeconform = await step(`kubeconform ${KUBECONFORM_VERSION}`, () => resolveKubeconform(log), String);
  const schemas = await step(
    `schemas (kubernetes-validate ${KUBERNETES_VALIDATE_VERSION})`,
    () => resolveKubeconformSchemas(log),
    String,
  );
  const { apiserver, kubectl } = await step(
    `kube-apiserver and kubectl ${KUBERNETES_VERSION}`,
    () => resolveKubeBinaries(log),
    (found) => path.dirname(found.apiserver),
  );
  const etcd = await step('etcd', () => resolveEtcd(log), String);
  const workerControllerCrds = await step(
    `temporal-worker-controller ${WORKER_CONTROLLER_VERSION} CRDs (Go module proxy)`,
    () => resolveWorkerControllerCrds(log),
    String,
  );
  return { helm, kubeconform, schemas, apiserver, kubectl, etcd, workerControllerCrds };
}

async function main(): Promise<void> {
  const tools = await obtainTools();
  const valuesFiles = (await readdir(path.join(chartDir, 'ci')))
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => path.join(chartDir, 'ci', name));
  if (valuesFiles.length === 0) throw new Error(`no values files in ${path.join(chartDir, 'ci')}`);
  const label = (valuesFile: string) => path.basename(valuesFile, '.yaml');

  const workDir = await mkdtemp(path.join(tmpdir(), 'order-system-check-k8s-'));
  let server: KubeApiServer | undefined;
  const stopAll = async () => {
    await server?.stop();
    await rm(workDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`${signal}: stopping the API server and etcd`);
      void stopAll().finally(() => process.exit(130));
    });
  }

  try {
    for (const valuesFile of valuesFiles) {
      await step(`helm lint --strict (${label(valuesFile)})`, () =>
        run(tools.helm, ['lint', '--strict', chartDir, '--values', valuesFile]),
      );
    }
    await step(
      'broken: helm lint --strict of a misspelt value (workers.keda.enabeld)',
      async () => {
        const verdict = await refused(() =>
          run(tools.helm, ['lint', '--strict', chartDir, '--set', 'workers.keda.enabeld=true']),
        );
        if (!verdict.refused) throw new Error('helm lint accepted it (values.schema.json should refuse unknown keys)');
        return `refused (${verdict.reason})`;
      },
      String,
    );
    const renderings = new Map<string, string>();
    for (const valuesFile of valuesFiles) {
      await step(
        `helm template (${label(valuesFile)})`,
        async () => {
          const rendered = await output(tools.helm, [
            'template',
            releaseName,
            chartDir,
            '--values',
            valuesFile,
            '--kube-version',
            KUBERNETES_VERSION,
            '--api-versions',
            'keda.sh/v1alpha1',
            '--api-versions',
            'monitoring.coreos.com/v1',
            '--api-versions',
            'temporal.io/v1alpha1',
          ]);
          const file = path.join(workDir, `${label(valuesFile)}.yaml`);
          await writeFile(file, rendered);
          renderings.set(label(valuesFile), file);
          return countKinds(rendered);
        },
        (kinds) => kinds,
      );
    }

    await step(
      'the ingress routes only the public paths (ingress-values)',
      async () => {
        const file = renderings.get('ingress-values');
        if (!file) throw new Error(`no rendering of ci/ingress-values.yaml`);
        const ingress = (await readFile(file, 'utf8')).split(/^---$/m).find((doc) => /^kind: Ingress$/m.test(doc));
        const paths = [...(ingress ?? '').matchAll(/^\s*- path: (\S+)$/gm)].map((match) => match[1]);
        if (paths.length === 0) throw new Error('no Ingress with paths rendered');
        // Answered without a token, each costs a database or Temporal round trip: for the kubelet and Prometheus only.
        const internal = paths.filter((p) => p === '/' || /^\/(healthz|readyz|metrics)/.test(p));
        if (internal.length > 0) throw new Error(`the ingress routes ${internal.join(', ')} from outside the cluster`);
        return paths;
      },
      (paths) => paths.join(' '),
    );

    const kubeconformStrict = [
      '-strict',
      '-summary',
      '-kubernetes-version',
      KUBERNETES_VERSION,
      '-schema-location',
      `${tools.schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    ];
    const kubeconformArgs = [...kubeconformStrict, '-skip', customKinds.join(',')];
    await step(
      'kubeconform -strict (every rendering)',
      async () => (await run(tools.kubeconform, [...kubeconformArgs, ...renderings.values()])).trim(),
      (summary) => summary.split('\n').pop() ?? '',
    );

    server = await step(
      'API server (etcd + kube-apiserver on loopback)',
      async () => {
        // Quiet while it works; the last lines explain a server that will not come up.
        const lastLines: string[] = [];
        const onOutput = (line: string) => {
          lastLines.push(line);
          if (lastLines.length > 40) lastLines.shift();
        };
        const cluster = path.join(workDir, 'cluster');
        return startKubeApiServer({ apiserver: tools.apiserver, etcd: tools.etcd, workDir: cluster, onOutput }).catch(
          (error: unknown) => {
            throw new Error(`${error instanceof Error ? error.message : String(error)}\n${lastLines.join('\n')}`);
          },
        );
      },
      (up) => up.url,
    );
    const kubeconfig = server.kubeconfig;
    const kubectl = (args: string[]) => run(tools.kubectl, ['--kubeconfig', kubeconfig, ...args]);

    await step('CRDs (KEDA, ServiceMonitor, temporal-worker-controller)', async () => {
      await kubectl(['apply', '--server-side', '-f', crdDir]);
      await kubectl(['apply', '--server-side', '-f', tools.workerControllerCrds]);
      await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    });
    const crdSchemas = path.join(workDir, 'crd-schemas');
    await step(
      'kubeconform -strict (custom resources, against the CRDs)',
      async () => {
        const crds = JSON.parse(await output(tools.kubectl, ['--kubeconfig', kubeconfig, 'get', 'crd', '-o', 'json']));
        await writeCrdSchemas(crds, crdSchemas);
        const summary = await run(tools.kubeconform, [
          ...kubeconformStrict,
          '-schema-location',
          crdSchemaLocation(crdSchemas),
          ...renderings.values(),
        ]);
        return summary.trim().split('\n').pop() ?? '';
      },
      String,
    );
    // No controller manager runs here to create it, and the ServiceAccount admission plugin needs it.
    await step('default ServiceAccount', () =>
      kubectl(['create', 'serviceaccount', 'default', '--namespace', 'default']),
    );

    for (const valuesFile of valuesFiles) {
      await step(`helm install --dry-run=server (${label(valuesFile)})`, () =>
        output(tools.helm, [
          'install',
          releaseName,
          chartDir,
          '--values',
          valuesFile,
          '--dry-run=server',
          '--kubeconfig',
          kubeconfig,
          '--namespace',
          'default',
        ]),
      );
    }
    for (const [name, file] of renderings) {
      await step(
        `kubectl apply --dry-run=server (${name})`,
        async () => (await kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', file])).trim().split('\n'),
        (lines) => `${lines.length} objects`,
      );
    }

    /** What the worker controller makes of the rendering's WorkerResourceTemplates, checked like the rest; how many. */
    const checkPerVersion = async (file: string): Promise<number> => {
      const served = await output(tools.kubectl, [
        '--kubeconfig',
        kubeconfig,
        'apply',
        '--dry-run=server',
        '-o',
        'json',
        '-f',
        file,
      ]);
      const rendered: unknown = JSON.parse(served);
      const objects = perVersionObjects(rendered);
      if (objects.length === 0) return 0;
      const perVersionFile = file.replace(/\.yaml$/, '-per-version.yaml');
      await writeFile(perVersionFile, objects.map((object) => `---\n${JSON.stringify(object)}\n`).join(''));
      await run(tools.kubeconform, [
        ...kubeconformStrict,
        '-schema-location',
        crdSchemaLocation(crdSchemas),
        perVersionFile,
      ]);
      await kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', perVersionFile]);
      return objects.length;
    };
    for (const [name, file] of renderings) {
      await step(
        `per version: what the worker controller makes of each WorkerResourceTemplate (${name})`,
        () => checkPerVersion(file),
        (count) => `${count} objects`,
      );
    }

    for (const variant of brokenVariants) {
      await step(
        `broken: ${variant.name}`,
        async () => {
          const base = renderings.get(variant.rendering);
          if (!base) throw new Error(`no rendering of ci/${variant.rendering}.yaml`);
          const baseText = await readFile(base, 'utf8');
          if (!baseText.includes(variant.from)) throw new Error(`"${variant.from.trim()}" is not in ${base}`);
          const file = path.join(workDir, 'broken.yaml');
          await writeFile(file, baseText.replace(variant.from, variant.to));
          const schemaVerdict = await refused(() =>
            run(tools.kubeconform, [...kubeconformStrict, '-schema-location', crdSchemaLocation(crdSchemas), file]),
          );
          const serverVerdict = await refused(() =>
            kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', file]),
          );
          if (serverVerdict.refused)
            return { schemaVerdict, refusedBy: 'the API server', reason: serverVerdict.reason };
          const perVersionVerdict = await refused(() => checkPerVersion(file));
          if (!perVersionVerdict.refused) {
            throw new Error('accepted by the API server, and so was what the worker controller would make of it');
          }
          return { schemaVerdict, refusedBy: 'the per-version check', reason: perVersionVerdict.reason };
        },
        ({ schemaVerdict, refusedBy, reason }) =>
          `refused by ${refusedBy} (${reason}); kubeconform ${schemaVerdict.refused ? 'refused it too' : 'let it pass'}`,
      );
    }
  } finally {
    await stopAll();
  }
  say(`all checks passed (${seconds(started)})`);
}

/** A command's whole standard output (exec's run keeps only the tail of both streams, enough for errors). */
function output(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-5000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(stdout).toString())
        : reject(new Error(`${path.basename(command)} ${args[0]} failed (exit ${code}):\n${stderr}`)),
    );
  });
}

async function refused(attempt: () => Promise<unknown>): Promise<{ refused: boolean; reason: string }> {
  try {
    await attempt();
    return { refused: false, reason: '' };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const line = message.split('\n').find((text) => /error|invalid|unknown|must|does not/i.test(text)) ?? message;
    // kubectl's preamble names the temp file; the reason follows it.
    const reason = line.replace(/^Error from server \([^)]*\): error when \w+ "[^"]*": /, '').trim();
    // Long messages (a label set quoted in full) keep their start and their verdict at the end.
    return { refused: true, reason: reason.length > 240 ? `${reason.slice(0, 100)} … ${reason.slice(-120)}` : reason };
  }
}

/** "3 Deployment, 2 Service, …": what a rendering holds, for the progress line. */
function countKinds(rendered: string): string {
  const counts = new Map<string, number>();
  for (const match of rendered.matchAll(/^kind: (\w+)$/gm)) counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
}

main().catch((error: unknown) => {
  say(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  say(`(after ${seconds(started)})`);
  process.exit(1);
});
