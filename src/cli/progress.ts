/** A progress bar on a terminal; on a pipe or in CI, a line every few seconds instead. */
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  increment(by?: number): void;
  setTotal(total: number): void;
  stop(): void;
}

export function startProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`, stream, hideCursor: true }, Presets.shades_classic);
    bar.start(total, 0);
    return { increment: (by = 1) => bar.increment(by), setTotal: (t) => bar.setTotal(t), stop: () => bar.stop() };
  }
  let done = 0;
  let lastPrint = Date.now();
  return {
    increment(by = 1) {
      done += by;
      if (Date.now() - lastPrint >= 5000) {
        lastPrint = Date.now();
        stream.write(`${label}: ${done}/${total}\n`);
      }
    },
    setTotal(t) { total = t; },
    stop() { stream.write(`${label}: ${done}/${total} done\n`); },
  };
}
