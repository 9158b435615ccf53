/**
 * The number-lookup fragments of docs/opensips.md (and its publishing-by-call-id fragment), checked as OpenSIPS would check them at start:
 * every function exists in a loaded module of that version with that many arguments of those
 * kinds, `async()` wraps an async-exported function and names a defined route, every module
 * parameter exists with the right type, every route called is defined, braces balance. Then what
 * the fragment must do: short timeouts, fail open on a negative $rc or a non-200 status, read
 * only fields the lookup answers, and reject only on `block`. No OpenSIPS can run here: the
 * signatures come from its sources (test/support/opensips-signatures.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { NUMBERS_PATH } from '../../src/lookup/request';
import { REASONS } from '../../src/lookup/rules';
import {
  ASYNC_MAX_ARGS, FUNCTIONS, KEYWORDS, MODPARAMS, PSEUDO_VARIABLES, TRANSFORMATIONS, type OpenSipsVersion, type ParamKind,
} from '../support/opensips-signatures';

const GUIDE = readFileSync(join(__dirname, '..', '..', 'docs', 'opensips.md'), 'utf8');
const FRAGMENTS: ReadonlyArray<[OpenSipsVersion, string]> = [...GUIDE.matchAll(/```opensips\n(# OpenSIPS ([^:\n]+): the number lookup\n[\s\S]*?)```/g)]
  .map((m) => [m[2]!.startsWith('3.1') ? '3.1+' : '2.4', m[1]!]);

/** The script without comments (a `#` outside a string starts one), strings kept. */
function stripComments(script: string): string {
  return script.split('\n').map((line) => {
    let inString = false;
    for (let k = 0; k < line.length; k += 1) {
      const c = line[k];
      if (c === '\\' && inString) k += 1;
      else if (c === '"') inString = !inString;
      else if (c === '#' && !inString) return line.slice(0, k);
    }
    return line;
  }).join('\n');
}

interface Call {
  readonly name: string;
  readonly args: string[];
  /** Where the name starts and where its `)` is. */
  readonly at: number;
  readonly end: number;
}

/** From `open` (the index of a `(`), the index of its `)`, skipping strings. */
function closing(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let k = open; k < text.length; k += 1) {
    const c = text[k];
    if (inString) {
      if (c === '\\') k += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '(') depth += 1;
    else if (c === ')' && --depth === 0) return k;
  }
  throw new Error(`unbalanced parenthesis at ${open}`);
}

/** Top-level comma-separated arguments, trimmed (an empty one stays, as `rest_get(u, $var(b), , $var(c))` needs). */
function splitArgs(inner: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let inString = false;
  let current = '';
  for (let k = 0; k < inner.length; k += 1) {
    const c = inner[k]!;
    if (inString) {
      if (c === '\\') { current += c + inner[k + 1]; k += 1; continue; }
      if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '(' || c === '{') depth += 1;
    else if (c === ')' || c === '}') depth -= 1;
    else if (c === ',' && depth === 0) { args.push(current.trim()); current = ''; continue; }
    current += c;
  }
  if (current.trim() !== '' || args.length > 0) args.push(current.trim());
  return args;
}

/** Every `name(…)` that is not a pseudo-variable (`$var(`), a transformation or inside a string. */
function calls(script: string): Call[] {
  const found: Call[] = [];
  let inString = false;
  for (let k = 0; k < script.length; k += 1) {
    const c = script[k]!;
    if (inString) {
      if (c === '\\') k += 1;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') { inString = true; continue; }
    const match = /^[A-Za-z_][A-Za-z0-9_]*\(/.exec(script.slice(k));
    if (match === null || /[$A-Za-z0-9_.{]/.test(script[k - 1] ?? ' ')) continue;
    const name = match[0].slice(0, -1);
    const open = k + name.length;
    const close = closing(script, open);
    found.push({ name, args: splitArgs(script.slice(open + 1, close)), at: k, end: close });
  }
  return found;
}

const isString = (arg: string) => /^"(?:[^"\\]|\\.)*"$/.test(arg);
const isInt = (arg: string) => /^-?\d+$/.test(arg);
const isVariable = (arg: string) => /^\$(?:[A-Za-z_]+(?:\([^()]*\))?|\([^()]*\))$/.test(arg);

function kindOk(kind: ParamKind, arg: string): boolean {
  if (kind === 'var') return isVariable(arg);
  if (kind === 'int') return isInt(arg) || isVariable(arg);
  return isString(arg) || isVariable(arg);
}

function checkFragment(version: OpenSipsVersion, fragment: string): string[] {
  const problems: string[] = [];
  const script = stripComments(fragment);
  const modules = new Set(['core', ...[...script.matchAll(/^loadmodule\s+"([a-z_]+)\.so"/gm)].map((m) => m[1]!)]);
  const routes = new Set([...script.matchAll(/^route\[([a-z_]+)\]\s*\{/gm)].map((m) => m[1]!));
  const functions = FUNCTIONS[version];

  const opens = (script.match(/\{/g) ?? []).length - (script.match(/\{[a-z.]+\}/g) ?? []).length;
  const closes = (script.match(/\}/g) ?? []).length - (script.match(/\{[a-z.]+\}/g) ?? []).length;
  if (opens !== closes) problems.push(`${opens} { for ${closes} }`);

  const checkCall = (call: Call, asAsync: boolean): void => {
    const signature = functions[call.name];
    if (signature === undefined) return void problems.push(`${call.name}(): no such function in OpenSIPS ${version}`);
    if (!modules.has(signature.module)) problems.push(`${call.name}(): module ${signature.module} is not loaded`);
    if (asAsync && !signature.async) problems.push(`${call.name}(): not an async function`);
    const required = signature.params.filter((p) => !p.optional).length;
    if (call.args.length < required || call.args.length > signature.params.length) {
      problems.push(`${call.name}(): ${call.args.length} arguments, expected ${required} to ${signature.params.length}`);
    }
    call.args.forEach((arg, k) => {
      const param = signature.params[k];
      if (param === undefined) return;
      if (arg === '' ? !param.optional : !kindOk(param.kind, arg)) problems.push(`${call.name}(): argument ${k + 1} ${JSON.stringify(arg)} is not a ${param.kind}`);
    });
  };

  const all = calls(script);
  const asyncSpans = all.filter((c) => c.name === 'async');
  for (const call of all) {
    if (call.name === 'modparam') {
      const [module, name, value] = call.args;
      const mod = module?.replace(/"/g, '') ?? '';
      const type = MODPARAMS[version][mod]?.[name?.replace(/"/g, '') ?? ''];
      if (!modules.has(mod)) problems.push(`modparam: module ${mod} is not loaded`);
      if (type === undefined) problems.push(`modparam: ${mod} has no parameter ${name}`);
      else if (type === 'int' ? !isInt(value ?? '') : !isString(value ?? '')) problems.push(`modparam ${name}: expected ${type}, got ${value}`);
      continue;
    }
    if (call.name === 'route') {
      if (!routes.has(call.args[0] ?? '')) problems.push(`route(${call.args[0]}): no such route`);
      continue;
    }
    if (call.name === 'async') {
      if (call.args.length < 2 || call.args.length > ASYNC_MAX_ARGS[version]) problems.push(`async(): ${call.args.length} arguments, OpenSIPS ${version} takes 2 to ${ASYNC_MAX_ARGS[version]}`);
      if (!routes.has(call.args[1] ?? '')) problems.push(`async(): resume route ${call.args[1]} is not defined`);
      if (call.args[2] !== undefined && !isInt(call.args[2])) problems.push('async(): the timeout is an integer');
      const [inner] = calls(call.args[0] ?? '');
      if (inner === undefined || inner.at !== 0) problems.push('async(): the first argument must be a function call');
      else checkCall(inner, true);
      continue;
    }
    if (KEYWORDS.has(call.name)) continue;
    // A call inside async() is checked there, as an async function.
    if (asyncSpans.some((outer) => call.at > outer.at && call.at < outer.end)) continue;
    checkCall(call, false);
  }

  for (const m of fragment.matchAll(/\$\(?([A-Za-z_]+)/g)) if (!PSEUDO_VARIABLES.has(m[1]!)) problems.push(`$${m[1]}: unknown pseudo-variable`);
  for (const m of fragment.matchAll(/\{([a-z]+\.[a-z.]+)\}/g)) if (!TRANSFORMATIONS[version].has(m[1]!)) problems.push(`{${m[1]}}: no such transformation in ${version}`);
  return problems;
}

describe('docs/opensips.md: the number-lookup fragments', () => {
  test('there is one for 3.1+ and one for 2.4/3.0', () => {
    expect(FRAGMENTS.map(([version]) => version)).toEqual(['3.1+', '2.4']);
  });

  describe.each(FRAGMENTS)('OpenSIPS %s', (version, fragment) => {
    const script = stripComments(fragment);
    const all = calls(script);
    const restGet = calls(all.find((c) => c.name === 'async')!.args[0]!)[0]!;

    test('every call matches the documented signatures of its version', () => {
      expect(checkFragment(version, fragment)).toEqual([]);
      // The check saw every function the fragment uses.
      expect([...new Set(all.map((c) => c.name))].sort()).toEqual([
        'append_hf', 'append_to_reply', 'async', 'is_method', 'modparam', 'rest_get', 'route', 't_relay', 't_reply', 'xlog',
      ]);
    });

    test('asks the lookup\'s path on its default host, with the caller', () => {
      const url = restGet.args[0]!;
      expect(url).toMatch(new RegExp(`^"http://${loadConfig({}).lookup.host}:\\d+${NUMBERS_PATH}\\$\\(rU\\{[a-z.]+\\}\\)\\?caller=\\$\\(fU\\{[a-z.]+\\}\\)"$`));
    });

    test('waits at most a second: the shortest timeouts rest_client takes', () => {
      const param = (name: string) => Number(all.find((c) => c.name === 'modparam' && c.args[1] === `"${name}"`)?.args[2]);
      expect(param('connection_timeout')).toBe(1);
      expect(param('curl_timeout')).toBe(1);
      const async = all.find((c) => c.name === 'async')!;
      if (version === '3.1+') expect(async.args[2]).toBe('1');
    });

    test('fails open: a negative $rc or a status other than 200 continues the call', () => {
      const status = restGet.args[3]!;
      const resume = script.slice(script.indexOf(`route[${all.find((c) => c.name === 'async')!.args[1]}]`));
      const failOpen = /if \(\$var\(qbl_rc\) < 0 \|\| (\$var\(qbl_status\)) != 200\) \{([^}]*)\}/.exec(resume);
      expect(failOpen?.[1]).toBe(status);
      expect(resume.indexOf('$var(qbl_rc) = $rc;')).toBeLessThan(resume.indexOf('if ('));
      expect(failOpen![2]).toMatch(/route\(qbl_continue\);\s*exit;/);
      expect(failOpen![2]).not.toMatch(/t_reply|sl_send_reply/);
    });

    test('reads only what the lookup answers, and rejects only on block', () => {
      const fields = [...script.matchAll(/\$json\(qbl\/([a-z_]+)/g)].map((m) => m[1]!);
      expect([...new Set(fields)].sort()).toEqual(['reasons', 'verdict']);
      const verdicts = [...script.matchAll(/\$json\(qbl\/verdict\) == "([a-z]+)"/g)].map((m) => m[1]);
      expect(verdicts).toEqual(['block', 'warn']);
      const reasons = [...script.matchAll(/\$json\(qbl\/reasons\[0\]\) == "([a-z_]+)"/g)].map((m) => m[1]!);
      for (const reason of reasons) expect(REASONS).toContain(reason);
      const block = script.slice(script.indexOf('== "block"'), script.indexOf('== "warn"'));
      expect(block).toMatch(/t_reply\(603, "Declined"\)/);
      expect(block).toMatch(/t_reply\(403, "Forbidden"\)/);
      const warn = script.slice(script.indexOf('== "warn"'));
      expect(warn).not.toMatch(/t_reply|sl_send_reply/);
      expect(warn).toMatch(/append_hf\("X-QBL-Verdict: warn/);
    });
  });

  test('the checker catches what OpenSIPS would refuse', () => {
    const base = FRAGMENTS[0]![1];
    expect(checkFragment('3.1+', base.replace('$var(qbl_body), , $var(qbl_status)', '"body"'))).toEqual(expect.arrayContaining([
      'rest_get(): argument 2 "\\"body\\"" is not a var',
    ]));
    expect(checkFragment('2.4', base)).toEqual(expect.arrayContaining(['async(): 3 arguments, OpenSIPS 2.4 takes 2 to 2', '{rest.escape}: no such transformation in 2.4']));
    expect(checkFragment('3.1+', base.replace('loadmodule "json.so"\n', '').replace('loadmodule "tm.so"', '#'))).toEqual(expect.arrayContaining(['t_reply(): module tm is not loaded']));
    expect(checkFragment('3.1+', base.replace('"curl_timeout", 1', '"curl_timeout_ms", 1'))).toEqual(['modparam: rest_client has no parameter "curl_timeout_ms"']);
    expect(checkFragment('3.1+', base.replace('route(qbl_continue);\n}', 'route(qbl_next);\n}'))).toContain('route(qbl_next): no such route');
    expect(checkFragment('3.1+', base.replace('t_reply(403, "Forbidden")', 't_reply("Forbidden")'))).toEqual(expect.arrayContaining(['t_reply(): 1 arguments, expected 2 to 2']));
  });
});

describe('docs/opensips.md: the publishing-by-call-id fragment', () => {
  const [fragment] = [...GUIDE.matchAll(/```opensips\n(# OpenSIPS 3\.6\+: publishing by call id[\s\S]*?)```/g)].map((m) => m[1]!);
  /** The same for 2.3 to 3.5, as its title says: the function and the parameter in the `rabbitmq` module. */
  const older = () => fragment!.replaceAll('event_rabbitmq', 'rabbitmq');

  test('matches rabbitmq_publish() and server_id of every version that has them', () => {
    expect(fragment).toBeDefined();
    expect(checkFragment('3.6+', fragment!)).toEqual([]);
    expect(checkFragment('3.1+', older())).toEqual([]);
    expect(checkFragment('2.4', older())).toEqual([]);
    // Before 3.6 there is no rabbitmq_publish() in event_rabbitmq, and from 3.6 no rabbitmq module.
    expect(checkFragment('3.1+', fragment!)).toEqual(expect.arrayContaining(['rabbitmq_publish(): module rabbitmq is not loaded']));
    expect(checkFragment('3.6+', older())).toEqual(expect.arrayContaining(['rabbitmq_publish(): module event_rabbitmq is not loaded']));
    const all = calls(stripComments(fragment!));
    expect([...new Set(all.map((c) => c.name))].sort()).toEqual(['modparam', 'rabbitmq_publish']);
  });

  test('keys each message by its call, to the default exchange, with the headers as name and value AVPs', () => {
    const publish = calls(stripComments(fragment!)).find((c) => c.name === 'rabbitmq_publish')!;
    expect(publish.args[1]).toBe('"$ci"');
    expect(publish.args.slice(4)).toEqual(['$avp(qbl_hdr_names)', '$avp(qbl_hdr_vals)']);
    expect(fragment).toMatch(/\$avp\(qbl_hdr_vals\) = \$ci;/);
    expect(fragment).toMatch(new RegExp(`exchange = ${loadConfig({}).topology.exchange}"\\)`));
  });

  test('the checker catches a headers AVP without its values', () => {
    expect(checkFragment('3.6+', fragment!.replace(', $avp(qbl_hdr_names), $avp(qbl_hdr_vals)', ', "x-qbl-call-id"')))
      .toEqual(['rabbitmq_publish(): argument 5 "\\"x-qbl-call-id\\"" is not a var']);
  });
});
