/**
 * docker-compose.yml and the Dockerfile, checked as files (no container engine runs here): the
 * stack's services, pinned images, ports, healthchecks, start order, volumes, and that the
 * service only gets environment variables the code reads (src/config/variables.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Variable } from '../../src/config/env';
import { VARIABLES } from '../../src/config/variables';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface LongPort {
  target: string | number;
  published?: string | number;
  host_ip?: string;
  protocol?: string;
}

interface Service {
  container_name?: string;
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: Array<string | LongPort>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  command?: unknown;
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const { services } = compose;

/** Every variable the configuration reads (its table of variables), with the `_FILE` forms of secrets. */
function configVariables(): Set<string> {
  const rows: ReadonlyArray<Variable<unknown>> = Object.values(VARIABLES);
  return new Set(rows.flatMap((row) => (row.secret ? [row.name, `${row.name}_FILE`] : [row.name])));
}

/** `${VAR:-default}` → default: what compose uses without a .env file. */
const withDefaults = (text: string) => text.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
/** The container ports a service publishes. */
const portsOf = (service: Service) => (service.ports ?? []).map((port) => Number(typeof port === 'string'
  ? withDefaults(port).split(':').pop()
  : withDefaults(String(port.target))));

describe('docker-compose.yml', () => {
  const known = configVariables();

  it('the list of variables the code reads holds the ones the stack sets', () => {
    for (const name of ['AMQP_URL', 'ELASTICSEARCH_URL', 'ELASTICSEARCH_USERNAME', 'ELASTICSEARCH_PASSWORD', 'OPENSEARCH_URL',
      'QBL_RETENTION_DAYS', 'SQLITE_PATH', 'QBL_HTTP_HOST', 'LOG_LEVEL']) {
      expect(known).toContain(name);
    }
  });

  it('brings up RabbitMQ with management, Elasticsearch 8, Kibana 8 and the service built from the Dockerfile', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['rabbitmq', 'elasticsearch', 'kibana', 'qbl']));
    expect(services.rabbitmq!.image).toMatch(/^rabbitmq:\d+\.\d+\.\d+-management$/);
    expect(services.elasticsearch!.image).toMatch(/^docker\.elastic\.co\/elasticsearch\/elasticsearch:8\.\d+\.\d+$/);
    expect(services.kibana!.image).toMatch(/^docker\.elastic\.co\/kibana\/kibana:8\.\d+\.\d+$/);
    expect(services.kibana!.image!.split(':')[1]).toBe(services.elasticsearch!.image!.split(':')[1]);
    expect(services.qbl!.build).toMatchObject({ context: '.', dockerfile: 'Dockerfile' });
  });

  it('pins every image to a full version', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.image === undefined) continue;
      if (service.build !== undefined) continue; // the locally built tag
      expect({ name, image: service.image }).toEqual({ name, image: expect.stringMatching(/:\d+\.\d+\.\d+(-[a-z]+)?$/) });
    }
  });

  it('single-node Elasticsearch with its security settings explicit', () => {
    const env = services.elasticsearch!.environment!;
    expect(env['discovery.type']).toBe('single-node');
    expect(env['xpack.security.enabled']).toBe('true');
    expect(env['xpack.security.http.ssl.enabled']).toBeDefined();
    expect(env['xpack.security.transport.ssl.enabled']).toBeDefined();
    expect(env.ELASTIC_PASSWORD).toBeDefined();
    expect(services.kibana!.environment!.ELASTICSEARCH_USERNAME).toBe('kibana_system');
  });

  it('exposes the ports users need', () => {
    expect(portsOf(services.rabbitmq!)).toEqual(expect.arrayContaining([5672, 15672]));
    expect(portsOf(services.elasticsearch!)).toContain(9200);
    expect(portsOf(services.kibana!)).toContain(5601);
    expect(portsOf(services.qbl!)).toContain(9464);
  });

  it('gives every long-running service a healthcheck, and the service starts after healthy dependencies', () => {
    for (const name of ['rabbitmq', 'elasticsearch', 'kibana', 'qbl']) {
      expect(services[name]!.healthcheck?.test.length).toBeGreaterThan(1);
    }
    // qbl healthcheck asks /healthz on QBL_HTTP_HOST/QBL_HTTP_PORT (test/integration/cli-basics.test.ts).
    expect(services.qbl!.healthcheck!.test).toEqual(['CMD', 'qbl', 'healthcheck']);
    expect(services.qbl!.depends_on).toEqual({
      rabbitmq: { condition: 'service_healthy' }, elasticsearch: { condition: 'service_healthy' },
    });
    expect(services.kibana!.depends_on!.elasticsearch).toEqual({ condition: 'service_healthy' });
    for (const service of Object.values(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(services[dependency]).toBeDefined();
    }
  });

  it('keeps state in named volumes declared at the top level', () => {
    const declared = Object.keys(compose.volumes);
    for (const name of ['rabbitmq', 'elasticsearch', 'kibana']) {
      const mounts = services[name]!.volumes ?? [];
      expect(mounts.length).toBeGreaterThan(0);
      for (const mount of mounts) expect(declared).toContain(mount.split(':')[0]);
    }
  });

  it('configures the service for Elasticsearch with only variables the code reads', () => {
    const env = services.qbl!.environment!;
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
    expect(env.ELASTICSEARCH_URL).toBe('http://elasticsearch:9200');
    expect(env.AMQP_URL).toMatch(/^amqp:\/\/.*@rabbitmq:5672$/);
    expect(env.QBL_HTTP_HOST).toBe('0.0.0.0');
    expect(withDefaults(env.QBL_HTTP_PORT!)).toBe('9464');
    // The published port follows the same variable.
    expect(services.qbl!.ports).toContainEqual(expect.objectContaining({ target: '${QBL_HTTP_PORT:-9464}' }));
    // Every ${VAR} has a default, so `docker compose up` works without a .env file.
    for (const value of Object.values(env)) {
      for (const match of value.matchAll(/\$\{([^}]*)\}/g)) expect(match[1]).toMatch(/^[A-Z_]+:-.+$/);
    }
  });
});

describe('docker compose up --scale qbl=3', () => {
  const qbl = services.qbl!;

  it('runs on the search store, where replicas are one active consumer and hot standbys (docs/scaling.md)', () => {
    expect(qbl.environment!.ELASTICSEARCH_URL ?? qbl.environment!.OPENSEARCH_URL).toBeDefined();
  });

  it('names no container: compose names each replica', () => {
    expect(qbl.container_name).toBeUndefined();
  });

  it('publishes no fixed host port: each replica\'s ops port gets its own, on the loopback only', () => {
    expect(qbl.ports!.length).toBeGreaterThan(0);
    for (const port of qbl.ports!) {
      // The long syntax without `published` (a short "HOST:CONTAINER" pins a host port; a host
      // range is what compose v2 fails to share between replicas).
      expect(typeof port).toBe('object');
      const long = port as LongPort;
      expect(long.published).toBeUndefined();
      expect(long.host_ip).toBe('127.0.0.1');
    }
  });

  it('shares no volume between replicas, and keeps no file: the search store holds everything', () => {
    expect(qbl.volumes ?? []).toEqual([]);
    expect(qbl.environment!.SQLITE_PATH).toBeUndefined();
    expect(Object.keys(compose.volumes)).not.toContain('qbl-data');
    // Each replica gets an anonymous volume of its own from the image.
    expect(read('Dockerfile')).toMatch(/^VOLUME \["\/app\/data"\]$/m);
  });
});

describe('.env.example', () => {
  const example = read('.env.example');
  const settings = new Map([...example.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const used = new Map([...read('docker-compose.yml').matchAll(/\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}/g)].map((m) => [m[1]!, m[2]!]));

  it('is what the compose file\'s comments refer to', () => {
    expect(read('docker-compose.yml')).toContain('cp .env.example .env');
  });

  it('lists every variable docker-compose.yml reads, with the same default, and nothing else', () => {
    expect([...settings.keys()].sort()).toEqual([...used.keys()].sort());
    for (const [name, value] of settings) expect({ name, value }).toEqual({ name, value: used.get(name) });
  });

  it('the .env it becomes stays out of git and of the image', () => {
    expect(read('.gitignore').split('\n')).toContain('.env');
    expect(read('.dockerignore').split('\n')).toContain('.env');
  });

  it('the build context leaves out the test runtimes cached by scripts/test-lts.sh', () => {
    expect(read('.gitignore').split('\n')).toContain('.cache/');
    expect(read('.dockerignore').split('\n')).toContain('.cache');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; scripts: Record<string, string>; devDependencies: Record<string, string> };

  it('is multi-stage on the Node.js LTS of package.json\'s engines, production dependencies only, non-root', () => {
    const major = /^\^(\d+)$/.exec(pkg.engines.node)![1];
    expect(dockerfile.match(new RegExp(`^FROM node:${major}-bookworm-slim AS (build|runtime)$`, 'gm'))).toHaveLength(2);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^COPY --from=build .*node_modules/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('runs under tini as PID 1, which forwards signals and reaps zombies (also for plain docker run)', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(runtime).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", .*"dist\/src\/cli\/main\.js"\]$/m);
  });

  it('health-checks with qbl healthcheck, which follows QBL_HTTP_HOST/QBL_HTTP_PORT (no port written here)', () => {
    const healthcheck = /^HEALTHCHECK .*$/m.exec(dockerfile)![0];
    expect(healthcheck).toMatch(/CMD \["qbl", "healthcheck"\]$/);
    expect(healthcheck).not.toMatch(/9464/);
    expect(dockerfile).toMatch(/ln -s \/app\/dist\/src\/cli\/main\.js \/usr\/local\/bin\/qbl/);
    expect(dockerfile).toMatch(/chmod \+x dist\/src\/cli\/main\.js/);
  });

  it('npm run replay-dlq needs nothing the image lacks: node and dist/ only (no tsc, no dev tools)', () => {
    const script = pkg.scripts['replay-dlq']!;
    expect(script).toBe('node dist/src/cli/main.js dlq replay');
    for (const tool of ['tsc', 'ts-node', 'jest', 'npx']) expect(script.split(/\s+/)).not.toContain(tool);
    expect(dockerfile).toMatch(/^COPY --from=build .*\/app\/package\.json/m);
    expect(dockerfile).toMatch(/^COPY --from=build .*\/app\/dist dist$/m);
  });

  it('adds the AWS SDK only when built with WITH_AWS_SIGV4=1, at the version package.json pins', () => {
    expect(dockerfile).toMatch(/^ARG WITH_AWS_SIGV4=0$/m);
    expect(dockerfile).toContain('if [ "$WITH_AWS_SIGV4" = 1 ]');
    expect(dockerfile).toContain('npm pkg get "peerDependencies.$aws"');
    expect(pkg.devDependencies['@aws-sdk/credential-provider-node']).toBeDefined();
  });

  it('sets only environment variables the code (or Node) reads', () => {
    const known = configVariables();
    const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile)![1]!;
    const names = [...block.matchAll(/([A-Z_]+)=/g)].map((match) => match[1]!);
    expect(names.filter((name) => name !== 'NODE_ENV' && !known.has(name))).toEqual([]);
  });
});
