/** `qbl bench`: the benchmark of issue 6 (bench/run.ts); method and figures in docs/performance.md. */
import type { CliCommand } from '../command';
import { BENCH_USAGE } from '../../../bench/options';

export const command: CliCommand = {
  name: 'bench',
  summary: 'Measure the service against the broker\'s own limit, the correlator, memory per open call and CDR latency.',
  usage: BENCH_USAGE,
  async run(argv) {
    const { benchMain } = await import('../../../bench/run');
    return benchMain(argv);
  },
};
