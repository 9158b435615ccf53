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

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
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

const portsOf = (service: Service) => (service.ports ?? []).map((port) => Number(port.split(':').pop()));

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
    expect(services.qbl!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:9464/healthz');
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
    for (const name of ['rabbitmq', 'elasticsearch', 'kibana', 'qbl']) {
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
    expect(env.QBL_HTTP_PORT).toBe('9464');
    expect(env.SQLITE_PATH!.startsWith('/app/data/')).toBe(true);
    expect(services.qbl!.volumes).toContain('qbl-data:/app/data');
    // Every ${VAR} has a default, so `docker compose up` works without a .env file.
    for (const value of Object.values(env)) {
      for (const match of value.matchAll(/\$\{([^}]*)\}/g)) expect(match[1]).toMatch(/^[A-Z_]+:-.+$/);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('is multi-stage on node:20-bookworm-slim, installs production dependencies only, runs as non-root', () => {
    expect(dockerfile.match(/^FROM node:20-bookworm-slim/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^COPY --from=build .*node_modules/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*http:\/\/127\.0\.0\.1:9464\/healthz/m);
  });

  it('sets only environment variables the code (or Node) reads', () => {
    const known = configVariables();
    const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile)![1]!;
    const names = [...block.matchAll(/([A-Z_]+)=/g)].map((match) => match[1]!);
    expect(names.filter((name) => name !== 'NODE_ENV' && !known.has(name))).toEqual([]);
  });
});
