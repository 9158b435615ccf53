/** Runs `qbl` in-process (main() with argv), capturing what it writes to stdout and stderr. */
import { main } from '../../src/cli/main';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function qbl(...argv: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => { out += String(chunk); return true; }) as typeof process.stdout.write);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => { err += String(chunk); return true; }) as typeof process.stderr.write);
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** `qbl argv…` in-process with exactly these variables (and PATH): nothing else of the test's environment. */
export async function qblWithEnv(argv: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const saved = process.env;
  process.env = { PATH: saved.PATH ?? '', ...env };
  try {
    return await qbl(...argv);
  } finally {
    process.env = saved;
  }
}
