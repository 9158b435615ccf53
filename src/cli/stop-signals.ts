/**
 * SIGTERM and SIGINT for the long-running service. Trapped as early as `qbl start` is chosen,
 * before the heavy modules load, so a stop during start-up still ends in an orderly close.
 */
let stopped: Promise<NodeJS.Signals> | undefined;
let release: () => void = () => undefined;

export function trapStopSignals(): Promise<NodeJS.Signals> {
  stopped ??= new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    release = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    };
  });
  return stopped;
}

/** Gives the signals back to Node's defaults (after the service closed). */
export function releaseStopSignals(): void {
  release();
  stopped = undefined;
}
