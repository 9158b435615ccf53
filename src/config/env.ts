/** Typed, range-checked readers for environment variables; each failure names the option. */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';

export type Env = Readonly<Record<string, string | undefined>>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function readString(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

export function readOptionalString(env: Env, name: string): string | undefined {
  return raw(env, name);
}

/**
 * A secret from `NAME` or from the file named by `NAME_FILE` (Docker and Kubernetes secrets).
 * The value itself never appears in an error.
 */
export function readSecret(env: Env, name: string): string | undefined {
  const direct = raw(env, name);
  const file = raw(env, `${name}_FILE`);
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(name, `either ${name} or ${name}_FILE, not both`);
  }
  if (file === undefined) return direct;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`${name}_FILE`, 'a readable file', file, (error as NodeJS.ErrnoException).code ?? 'unreadable');
  }
}

export function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = raw(env, name);
  if (text === undefined) return fallback;
  if (!/^-?\d+$/.test(text)) throw new ConfigError(name, `an integer from ${min} to ${max}`, text);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `an integer from ${min} to ${max}`, text);
  }
  return value;
}

export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const text = raw(env, name);
  if (text === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(text)) throw new ConfigError(name, `one of ${allowed.join(', ')}`, text);
  return text as T;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const text = raw(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new ConfigError(name, 'true or false', text);
}

export function readReadableFile(env: Env, name: string): string | undefined {
  const file = raw(env, name);
  if (file === undefined) return undefined;
  try {
    readFileSync(file);
  } catch (error) {
    throw new ConfigError(name, 'a readable file', file, (error as NodeJS.ErrnoException).code ?? 'unreadable');
  }
  return file;
}

/** `a=b,c=d` pairs; keys and values trimmed. */
export function readPairs(env: Env, name: string): Array<[string, string]> {
  const text = raw(env, name);
  if (text === undefined) return [];
  return text.split(',').filter((part) => part.trim() !== '').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new ConfigError(name, 'comma-separated NAME=VALUE pairs', part.trim());
    return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  });
}
