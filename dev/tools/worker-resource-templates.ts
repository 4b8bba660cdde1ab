// What temporal-worker-controller makes of a WorkerResourceTemplate for one version of its WorkerDeployment, so that
// `npm run check:k8s` can check those objects too: the CRD keeps `spec.template` unchecked (any fields), and only the
// objects the controller renders from it meet their own schemas. The fields the controller fills (and its webhook
// demands empty) are filled as it fills them, for a made-up build (internal/k8s/workerresourcetemplates.go and
// api/v1alpha1/workerresourcetemplate_webhook.go of v1.8.1).

type Json = { [key: string]: unknown };

interface KubeObject extends Json {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Json;
}

/** The build the check pretends the controller found. */
export const CHECK_BUILD_ID = 'check-build';

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isEmptyObject = (value: unknown) => isObject(value) && Object.keys(value).length === 0;

/**
 * One object per WorkerResourceTemplate in `objects` (as the API server returns a rendering: a List or one object),
 * rendered as the controller renders it for CHECK_BUILD_ID. Throws, naming the template, where the webhook would refuse.
 */
export function perVersionObjects(objects: unknown): KubeObject[] {
  if (!isObject(objects)) throw new Error('the API server answered no object for the rendering');
  const items = objects.kind === 'List' ? ((objects.items as KubeObject[] | undefined) ?? []) : [objects as KubeObject];
  const deployments = new Map(
    items.filter((item) => item.kind === 'WorkerDeployment').map((item) => [item.metadata.name, item]),
  );
  return items
    .filter((item) => item.kind === 'WorkerResourceTemplate')
    .map((wrt) => {
      const spec = wrt.spec ?? {};
      const ref = (spec.workerDeploymentRef ?? spec.temporalWorkerDeploymentRef) as { name: string } | undefined;
      const deployment = ref && deployments.get(ref.name);
      if (!ref || !deployment) throw new Error(`${wrt.metadata.name}: no WorkerDeployment ${ref?.name} beside it`);
      const namespace = wrt.metadata.namespace ?? 'default';
      const workerOptions = (deployment.spec?.workerOptions ?? {}) as { temporalNamespace?: string };
      const template = structuredClone(spec.template) as KubeObject;
      const problems: string[] = [];
      if (template.metadata?.name || template.metadata?.namespace) problems.push('metadata.name/namespace are set');
      template.metadata = { name: `${wrt.metadata.name}-${CHECK_BUILD_ID}`, namespace };
      const inner = template.spec ?? {};
      const owned = (path: string, value: unknown, empty: (v: unknown) => boolean) => {
        if (value !== undefined && !empty(value)) problems.push(`${path} is set (the controller owns it)`);
        return value !== undefined;
      };
      injectScaleTargetRef(inner, `${deployment.metadata.name}-${CHECK_BUILD_ID}`, problems);
      const selector = inner.selector as Json | undefined;
      if (isObject(selector) && owned('spec.selector.matchLabels', selector.matchLabels, isEmptyObject)) {
        selector.matchLabels = {
          'temporal.io/build-id': CHECK_BUILD_ID,
          'temporal.io/deployment-name': deployment.metadata.name,
        };
      }
      const versionOf: Record<string, string> = {
        workerDeploymentName: `${namespace}/${deployment.metadata.name}`,
        workerDeploymentBuildId: CHECK_BUILD_ID,
        namespace: workerOptions.temporalNamespace ?? '',
      };
      for (const [i, trigger] of ((inner.triggers as Json[] | undefined) ?? []).entries()) {
        const metadata = trigger.metadata as Record<string, unknown> | undefined;
        if (trigger.type !== 'temporal' || !isObject(metadata)) continue;
        for (const [key, value] of Object.entries(versionOf)) {
          if (owned(`spec.triggers[${i}].metadata.${key}`, metadata[key], (v) => v === '')) metadata[key] = value;
        }
      }
      if (problems.length > 0) throw new Error(`WorkerResourceTemplate ${wrt.metadata.name}: ${problems.join('; ')}`);
      return template;
    });
}

/** scaleTargetRef: {} anywhere in the spec becomes the version's Deployment; a set one is the controller's to set. */
function injectScaleTargetRef(node: Json, deploymentName: string, problems: string[]): void {
  for (const [key, value] of Object.entries(node)) {
    if (key === 'scaleTargetRef') {
      if (!isEmptyObject(value)) problems.push('a scaleTargetRef is set (the controller owns it)');
      node[key] = { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName };
    } else if (isObject(value)) injectScaleTargetRef(value, deploymentName, problems);
    else if (Array.isArray(value))
      for (const item of value) if (isObject(item)) injectScaleTargetRef(item, deploymentName, problems);
  }
}
