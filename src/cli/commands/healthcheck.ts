/**
 * `qbl healthcheck`: exit 0 when the service on this host answers its ops endpoint, 1 when not.
 * For container health checks (the Docker image's HEALTHCHECK): it finds the endpoint from the
 * same QBL_HTTP_HOST / QBL_HTTP_PORT as `qbl start`, so a changed port needs no second setting.
 */
import { loadConfig } from '../../config/config';
import { localEndpointUrl } from '../../observability/http-server';
import { intFlag, parseFlags } from '../../flags';
import type { CliCommand } from '../command';

const USAGE = `usage: qbl healthcheck [--ready] [--timeout-ms N]

  --ready           ask /readyz (broker connected and store answering) instead of /healthz (the process answers)
  --timeout-ms N    give up after N ms (default 3000)

Exit 0 when the endpoint answers 200, 1 otherwise. With QBL_HTTP_PORT=0 there is no endpoint
to ask: it says so and exits 0.`;

export const command: CliCommand = {
  name: 'healthcheck',
  summary: 'Exit 0 when the service on this host answers /healthz (or /readyz with --ready): for container health checks.',
  usage: USAGE,
  async run(argv) {
    const { values } = parseFlags(argv, { ready: { type: 'boolean' }, 'timeout-ms': { type: 'string' } });
    const timeoutMs = intFlag('timeout-ms', values['timeout-ms'], 3000, 1, 600_000);
    const { http } = loadConfig();
    if (http.port === 0) {
      process.stdout.write('ops endpoint disabled (QBL_HTTP_PORT=0): nothing to check\n');
      return 0;
    }
    const url = localEndpointUrl(http, values.ready ? '/readyz' : '/healthz');
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      const body = (await response.text()).trim();
      process.stdout.write(`${url}: HTTP ${response.status} ${body}\n`);
      return response.status === 200 ? 0 : 1;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      process.stdout.write(`${url}: ${cause ?? (error as Error).message}\n`);
      return 1;
    }
  },
};
