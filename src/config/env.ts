/**
 * Reading one environment variable through its row of the table (variables.ts), and the parsers
 * the rows use. Every failure is a ConfigError naming the variable.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';

export type Env = Readonly<Record<string, string | undefined>>;

/** Text (trimmed, never blank) → value; throws ConfigError naming the variable. */
export type Parser<T> = (text: string, name: string) => T;

/** One environment variable: what it means, its default and how its text is read. */
export interface Variable<T> {
  readonly name: string;
  /** One Markdown line for README's configuration table. */
  readonly meaning: string;
  /** The value when the variable is unset or blank; absent when there is none (or it is derived, see `shownDefault`). */
  readonly default?: T;
  /** How README shows the default when it is not the plain value, e.g. `` `<QBL_QUEUE>.dlx` ``. */
  readonly shownDefault?: string;
  readonly parse: Parser<T>;
  /** May come from the file named by `NAME_FILE` instead (Docker and Kubernetes secrets); never printed. */
  readonly secret?: boolean;
}

/** The variable's value: parsed text, else its default. */
export function read<T>(env: Env, variable: Variable<T> & { readonly default: T }): T;
export function read<T>(env: Env, variable: Variable<T>): T | undefined;
export function read<T>(env: Env, variable: Variable<T>): T | undefined {
  const text = variable.secret ? secretText(env, variable.name) : raw(env, variable.name);
  return text === undefined ? variable.default : variable.parse(text, variable.name);
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `NAME`, or the content of the file named by `NAME_FILE`; the value itself never appears in an error. */
function secretText(env: Env, name: string): string | undefined {
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

// ---- parsers --------------------------------------------------------------------------------

export const text: Parser<string> = (value) => value;

export function integer(min: number, max: number): Parser<number> {
  return (value, name) => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new ConfigError(name, `an integer from ${min} to ${max}`, value);
    }
    return parsed;
  };
}

export function oneOf<T extends string>(allowed: readonly T[]): Parser<T> {
  return (value, name) => {
    if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(name, `one of ${allowed.join(', ')}`, value);
    return value as T;
  };
}

/** A value that must match `pattern`; `expected` says what that means to a person. */
export function matching(pattern: RegExp, expected: string, shown: (value: string) => string = (value) => value): Parser<string> {
  return (value, name) => {
    if (!pattern.test(value)) throw new ConfigError(name, expected, shown(value));
    return value;
  };
}

/** A path to a file this process can read now. */
export const readableFile: Parser<string> = (file, name) => {
  try {
    readFileSync(file);
  } catch (error) {
    throw new ConfigError(name, 'a readable file', file, (error as NodeJS.ErrnoException).code ?? 'unreadable');
  }
  return file;
};

/** `a=b,c=d` pairs; keys and values trimmed. */
export const pairs: Parser<ReadonlyArray<readonly [string, string]>> = (value, name) =>
  value.split(',').filter((part) => part.trim() !== '').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new ConfigError(name, 'comma-separated NAME=VALUE pairs', part.trim());
    return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()] as const;
  });

/** A comma-separated list of items matching `pattern`, deduplicated; `none` is the explicit empty list. */
export function list(pattern: RegExp, expected: string): Parser<readonly string[]> {
  return (value, name) => {
    if (value.toLowerCase() === 'none') return Object.freeze([]);
    const items = value.split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== '');
    for (const item of items) {
      if (!pattern.test(item)) throw new ConfigError(name, expected, item);
    }
    return Object.freeze([...new Set(items)]);
  };
}
