// Validates every object of a Kubernetes manifest file against the Kubernetes API's schemas (the
// `kubernetes-models` package: the OpenAPI schemas of the Kubernetes release it was generated
// from, compiled to validators; no network). ESM because that package is; run with `node`:
//   node test/support/validate-k8s.mjs FILE   → one JSON line per object: {apiVersion, kind, name, error}
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const [file] = process.argv.slice(2);
const results = [];
for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
  if (document.errors.length > 0) {
    results.push({ apiVersion: null, kind: null, name: null, error: `YAML: ${document.errors[0].message}` });
    continue;
  }
  const object = document.toJS();
  if (object === null) continue;
  const { apiVersion, kind } = object;
  const name = object.metadata?.name ?? null;
  let error = null;
  try {
    // `apps/v1` + `StatefulSet` → kubernetes-models/apps/v1/StatefulSet; core `v1` → kubernetes-models/v1/…
    const module = await import(`kubernetes-models/${apiVersion}/${kind}`);
    new module[kind](object).validate();
  } catch (failure) {
    error = failure.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || failure.code === 'ERR_MODULE_NOT_FOUND'
      ? `no schema for ${apiVersion} ${kind}` : failure.message;
  }
  results.push({ apiVersion, kind, name, error });
}
process.stdout.write(`${results.map((r) => JSON.stringify(r)).join('\n')}\n`);
