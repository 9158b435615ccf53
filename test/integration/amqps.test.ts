/**
 * amqps:// with a CA file and a client certificate, end to end: the local broker has no TLS
 * listener, so the test puts a TLS-terminating proxy (node:tls, requiring a client certificate)
 * in front of the real RabbitMQ, with a CA and certificates made by openssl for the test.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { silentLogger, waitUntil } from '../support/rabbit';
import { readSamples } from '../support/samples';
import { serviceEnv } from '../support/service-env';
import { integrationFixture } from '../support/fixture';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, a server certificate for localhost and a client certificate, all signed by the CA. */
function makeCertificates(dir: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=qbl test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  for (const name of ['server', 'client']) {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name === 'server' ? 'localhost' : 'qbl'}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    const extensions = join(dir, `${name}.ext`);
    writeFileSync(extensions, name === 'server' ? 'subjectAltName=DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n');
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', extensions, '-out', `${name}.pem`]);
  }
}

/** TLS in front, plain AMQP behind; refuses clients without a certificate from our CA. */
async function startTlsProxy(dir: string): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer({
    key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')),
    ca: readFileSync(join(dir, 'ca.pem')), requestCert: true, rejectUnauthorized: true,
  }, (client: TLSSocket) => {
    accepted += 1;
    const broker = tcpConnect(5672, '127.0.0.1');
    sockets.add(client).add(broker);
    client.pipe(broker).pipe(client);
    const end = () => { client.destroy(); broker.destroy(); };
    client.on('error', end).on('close', end);
    broker.on('error', end).on('close', end);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, accepted: () => accepted };
}

describe('amqps:// with a CA file and a client certificate', () => {
  const f = integrationFixture('amqps');
  let proxy: Awaited<ReturnType<typeof startTlsProxy>>;

  beforeAll(async () => {
    makeCertificates(f.dir);
    proxy = await startTlsProxy(f.dir);
    f.defer(() => new Promise<void>((resolve) => proxy.server.close(() => resolve())));
  });

  test('the service connects over TLS, verifies the broker with the CA file, presents its certificate, and consumes', async () => {
    const config = loadConfig(serviceEnv(f.dir, 'amqps', {
      AMQP_URL: `amqps://guest:guest@localhost:${proxy.port}`,
      AMQP_CA_FILE: join(f.dir, 'ca.pem'), AMQP_CERT_FILE: join(f.dir, 'client.pem'), AMQP_KEY_FILE: join(f.dir, 'client.key'),
    }));
    f.admin.track(config.topology);
    const service = await Service.start({ config, logger: silentLogger() });
    try {
      expect(proxy.accepted()).toBeGreaterThanOrEqual(2); // the consuming and the dead-letter connections
      const busy = readSamples().filter((m) => m.body.includes('0c44e2d0-busy'));
      await f.admin.publish(config.topology.exchange, 'opensips.qbl', busy.map((m) => m.body));
      await waitUntil(() => service.pipeline.stats.cdrsByDisposition.busy === 1, 'the busy call\'s CDR');
    } finally {
      await service.close();
    }
  });

  test('without the CA file the broker\'s certificate is refused, with a clear error and no password', async () => {
    const config = loadConfig(serviceEnv(f.dir, 'amqps-noca', {
      AMQP_URL: `amqps://guest:s3cret-amqps@localhost:${proxy.port}`,
      AMQP_CERT_FILE: join(f.dir, 'client.pem'), AMQP_KEY_FILE: join(f.dir, 'client.key'),
    }));
    const failure = await Service.start({ config, logger: silentLogger() }).then(
      async (service) => { await service.close(); return null; },
      (error: unknown) => error as Error,
    );
    expect(failure).not.toBeNull();
    expect(failure!.message).toMatch(/certificate/i);
    expect(failure!.message).not.toContain('s3cret-amqps');
  });

  test('without the client certificate the TLS endpoint refuses the service', async () => {
    const config = loadConfig(serviceEnv(f.dir, 'amqps-nocert', {
      AMQP_URL: `amqps://guest:guest@localhost:${proxy.port}`, AMQP_CA_FILE: join(f.dir, 'ca.pem'),
    }));
    const failure = await Service.start({ config, logger: silentLogger() }).then(
      async (service) => { await service.close(); return null; },
      (error: unknown) => error as Error,
    );
    expect(failure).not.toBeNull();
    expect(failure!.message).toMatch(/AMQP connection to amqps:\/\/guest:\*\*\*@localhost:\d+ failed/);
  });
});
