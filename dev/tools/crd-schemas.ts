// kubeconform schemas for custom resources, from the CRDs as an API server serves them (JSON, so no YAML parser).
// Laid out as kubeconform's `{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json` location expects.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

type JsonSchema = { [key: string]: unknown };

interface CrdList {
  items: {
    spec: {
      group: string;
      names: { kind: string };
      versions: { name: string; schema?: { openAPIV3Schema?: JsonSchema } }[];
    };
  }[];
}

export const crdSchemaLocation = (dir: string) =>
  `${dir}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`;

/** Writes one schema per CRD version; returns how many. `crds` is `kubectl get crd -o json`. */
export async function writeCrdSchemas(crds: CrdList, dir: string): Promise<number> {
  let written = 0;
  for (const { spec } of crds.items) {
    for (const version of spec.versions) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) continue;
      await mkdir(join(dir, spec.group), { recursive: true });
      const file = join(dir, spec.group, `${spec.names.kind.toLowerCase()}_${version.name}.json`);
      await writeFile(file, JSON.stringify(strict(schema)));
      written += 1;
    }
  }
  return written;
}

/**
 * Closes every object schema that lists its properties, as kubeconform's own strict schemas do, so an unknown
 * field fails; objects the CRD leaves open (x-kubernetes-preserve-unknown-fields, maps) stay open, and so do the
 * branches of allOf/anyOf/oneOf, which constrain an object rather than list all of its fields.
 */
function strict(schema: JsonSchema): JsonSchema {
  const copy: JsonSchema = { ...schema };
  if (isSchema(copy.properties)) {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties).map(([name, value]) => [name, isSchema(value) ? strict(value) : value]),
    );
    if (copy.additionalProperties === undefined && copy['x-kubernetes-preserve-unknown-fields'] !== true) {
      copy.additionalProperties = false;
    }
  }
  if (isSchema(copy.items)) copy.items = strict(copy.items);
  if (isSchema(copy.additionalProperties)) copy.additionalProperties = strict(copy.additionalProperties);
  return copy;
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
