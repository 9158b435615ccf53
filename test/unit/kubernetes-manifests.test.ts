/**
 * deploy/kubernetes/qbl.yaml: every object valid against the Kubernetes API schemas (the
 * `kubernetes-models` validators, run by test/support/validate-k8s.mjs: no cluster and no network
 * here), and what the deployment promises: probes on /healthz and /readyz, secrets as files,
 * resources, a PodDisruptionBudget that selects the pod, hardening, one replica.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const MANIFEST = join(ROOT, 'deploy', 'kubernetes', 'qbl.yaml');
const VALIDATOR = join(ROOT, 'test', 'support', 'validate-k8s.mjs');
const run = promisify(execFile);

interface Validation { apiVersion: string | null; kind: string | null; name: string | null; error: string | null }

async function validate(file: string): Promise<Validation[]> {
  const { stdout } = await run(process.execPath, [VALIDATOR, file], { cwd: ROOT });
  return stdout.trim().split('\n').map((line) => JSON.parse(line) as Validation);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
const objects = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as any).filter(Boolean);
const byKind = (kind: string): any => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

describe('Kubernetes manifests', () => {
  test('every object is valid against the Kubernetes API schemas', async () => {
    const results = await validate(MANIFEST);
    expect(results.map((r) => r.kind)).toEqual(['ServiceAccount', 'ConfigMap', 'Service', 'StatefulSet', 'PodDisruptionBudget', 'NetworkPolicy']);
    expect(results.filter((r) => r.error !== null)).toEqual([]);
  });

  test('the validator rejects what the API server would', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qbl-k8s-'));
    try {
      const broken = structuredClone(byKind('StatefulSet'));
      delete broken.spec.template.spec.containers[0].livenessProbe.httpGet.port;
      broken.spec.template.spec.securityContext.runAsNonRoot = 'yes';
      const file = join(dir, 'broken.yaml');
      writeFileSync(file, `${JSON.stringify(broken)}\n---\n${JSON.stringify({ apiVersion: 'example.com/v9', kind: 'Nothing', metadata: { name: 'x' } })}\n`);
      const [statefulSet, unknown] = await validate(file);
      expect(statefulSet!.error).toMatch(/livenessProbe\/httpGet must have required property 'port'|runAsNonRoot must be boolean/);
      expect(unknown!.error).toBe('no schema for example.com/v9 Nothing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the StatefulSet', () => {
    const set = byKind('StatefulSet');
    const pod = set.spec.template.spec;
    const container = pod.containers[0];
    const config = byKind('ConfigMap').data as Record<string, string>;

    test('one replica: the open calls\' state lives in its volume', () => {
      expect(set.spec.replicas).toBe(1);
      expect(set.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
      expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/app/data' });
      expect(config.SQLITE_PATH.startsWith('/app/data/')).toBe(true);
    });

    test('liveness (and start-up) on /healthz, readiness on /readyz, on the port QBL_HTTP_PORT opens', () => {
      const port = container.ports.find((p: any) => p.name === 'http-ops');
      expect(String(port.containerPort)).toBe(config.QBL_HTTP_PORT);
      expect(config.QBL_HTTP_HOST).toBe('0.0.0.0');
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-ops' });
      expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http-ops' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-ops' });
    });

    test('secrets come as files (NAME_FILE), from a read-only secret volume, never as values', () => {
      const mount = container.volumeMounts.find((m: any) => m.name === 'secrets');
      expect(mount.readOnly).toBe(true);
      const volume = pod.volumes.find((v: any) => v.name === 'secrets');
      expect(volume.secret.secretName).toBe('opensips-qbl');
      expect(volume.secret.defaultMode).toBe(0o400);
      const files = container.env.filter((e: any) => e.name.endsWith('_FILE'));
      expect(files.map((e: any) => e.name)).toEqual(['AMQP_URL_FILE', 'ELASTICSEARCH_PASSWORD_FILE']);
      for (const e of files) expect(e.value.startsWith(`${mount.mountPath}/`)).toBe(true);
      // No secret in the ConfigMap or in plain env values.
      for (const name of ['AMQP_URL', 'ELASTICSEARCH_PASSWORD', 'ELASTICSEARCH_API_KEY', 'OPENSEARCH_PASSWORD']) {
        expect(config[name]).toBeUndefined();
        expect(container.env.find((e: any) => e.name === name)).toBeUndefined();
      }
    });

    test('every ConfigMap key is a variable the README documents', () => {
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      expect(Object.keys(config).filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
    });

    test('requests and a memory limit; time to finish the batch in flight on SIGTERM', () => {
      expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container.resources.limits.memory).toBeDefined();
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    });

    test('hardened: non-root as the image\'s node user, read-only root, no escalation, no capabilities, no token', () => {
      expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(container.volumeMounts.map((m: any) => m.mountPath)).toContain('/tmp');
      expect(pod.automountServiceAccountToken).toBe(false);
    });
  });

  test('the PodDisruptionBudget and the Service select the StatefulSet\'s pod', () => {
    const labels = byKind('StatefulSet').spec.template.metadata.labels;
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    const pdb = byKind('PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(matches(byKind('Service').spec.selector)).toBe(true);
    expect(matches(byKind('NetworkPolicy').spec.podSelector.matchLabels)).toBe(true);
    expect(byKind('StatefulSet').spec.serviceName).toBe(byKind('Service').metadata.name);
  });
});
