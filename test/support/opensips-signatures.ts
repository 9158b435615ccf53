/**
 * What OpenSIPS accepts, per version, for the functions and module parameters the lookup fragments
 * of docs/opensips.md use. Taken from the OpenSIPS sources — each module's `cmd_export_t` /
 * `acmd_export_t` / `param_export_t` tables on the 2.4, 3.0, 3.1 and 3.4 branches (3.x kept these
 * signatures to 3.6), and the core grammar (cfg.y) for `async()` and `xlog()` — and from the module
 * READMEs of those versions (rest_client, json, tm, sl, sipmsgops).
 */

/**
 * `2.4` also stands for 3.0 (same rest_client, no async timeout); `3.1+` for 3.1 to 3.6, except
 * `rabbitmq_publish()`, in the `rabbitmq` module from 2.3 to 3.5 and in `event_rabbitmq` from 3.6
 * (the modules were merged): `3.6+` is `3.1+` with that move.
 */
export type OpenSipsVersion = '2.4' | '3.1+' | '3.6+';

/** `string`: a quoted string (variables inside are expanded) or a variable; `int`: an integer or a variable; `var`: a writable variable. */
export type ParamKind = 'string' | 'int' | 'var';

export interface Param {
  readonly kind: ParamKind;
  readonly optional?: boolean;
}

export interface FunctionSignature {
  /** `core` needs no loadmodule. */
  readonly module: string;
  readonly params: readonly Param[];
  /** Also exported as an asynchronous function (usable inside `async()`). */
  readonly async?: boolean;
}

const s: Param = { kind: 'string' };
const i: Param = { kind: 'int' };
const v: Param = { kind: 'var' };
const opt = (param: Param): Param => ({ ...param, optional: true });

const COMMON: Readonly<Record<string, FunctionSignature>> = {
  // rest_client: rest_get(url, body_pv[, [ctype_pv][, [retcode_pv]]]), blocking and async alike.
  rest_get: { module: 'rest_client', params: [s, v, opt(v), opt(v)], async: true },
  rest_post: { module: 'rest_client', params: [s, s, opt(s), v, opt(v), opt(v)], async: true },
  rest_append_hf: { module: 'rest_client', params: [s] },
  // tm
  t_reply: { module: 'tm', params: [i, s] },
  t_relay: { module: 'tm', params: [opt(s), opt(s)] },
  t_newtran: { module: 'tm', params: [] },
  // sl
  sl_send_reply: { module: 'sl', params: [i, s] },
  // sipmsgops
  append_hf: { module: 'sipmsgops', params: [s, opt(s)] },
  append_to_reply: { module: 'sipmsgops', params: [s] },
  is_method: { module: 'sipmsgops', params: [s] },
  // core: xlog([level,] format)
  xlog: { module: 'core', params: [s, opt(s)] },
};

/**
 * rabbitmq_publish(server_id, routing_key, message[, content_type[, headers, headers_vals]]): the
 * headers are two AVPs (names, values). 2.x exports it with 3, 4 or 6 arguments; 3.x with the
 * last three optional (CMD_PARAM_STR ×3, CMD_PARAM_STR|OPT, CMD_PARAM_VAR|OPT ×2).
 */
const rabbitmqPublish = (module: string): FunctionSignature => ({ module, params: [s, s, s, opt(s), opt(v), opt(v)] });

const FUNCTIONS_31: Readonly<Record<string, FunctionSignature>> = {
  ...COMMON, has_totag: { module: 'sipmsgops', params: [] }, rabbitmq_publish: rabbitmqPublish('rabbitmq'),
};

export const FUNCTIONS: Readonly<Record<OpenSipsVersion, Readonly<Record<string, FunctionSignature>>>> = {
  // 2.4: has_totag() lives in the uri module.
  '2.4': { ...COMMON, has_totag: { module: 'uri', params: [] }, rabbitmq_publish: rabbitmqPublish('rabbitmq') },
  // 3.x: has_totag() moved to sipmsgops.
  '3.1+': FUNCTIONS_31,
  '3.6+': { ...FUNCTIONS_31, rabbitmq_publish: rabbitmqPublish('event_rabbitmq') },
};

/** `async(function, resume_route[, timeout_s])`: the timeout arrived in 3.1. */
export const ASYNC_MAX_ARGS: Readonly<Record<OpenSipsVersion, number>> = { '2.4': 2, '3.1+': 3, '3.6+': 3 };

/** Module parameters: name → kind (`int` for INT_PARAM, `string` for STR_PARAM). */
const REST_CLIENT_31: Readonly<Record<string, 'int' | 'string'>> = {
  connection_timeout: 'int', connect_poll_interval: 'int', max_async_transfers: 'int', max_transfer_size: 'int',
  curl_timeout: 'int', ssl_capath: 'string', ssl_verifypeer: 'int', ssl_verifyhost: 'int', curl_http_version: 'int',
  enable_expect_100: 'int',
};

export const MODPARAMS: Readonly<Record<OpenSipsVersion, Readonly<Record<string, Readonly<Record<string, 'int' | 'string'>>>>>> = {
  '2.4': {
    rest_client: {
      connection_timeout: 'int', connect_poll_interval: 'int', max_async_transfers: 'int', curl_timeout: 'int',
      ssl_capath: 'string', ssl_verifypeer: 'int', ssl_verifyhost: 'int', enable_expect_100: 'int',
    },
    // STR_PARAM|USE_FUNC_PARAM, set once per broker.
    rabbitmq: { server_id: 'string' },
  },
  '3.1+': { rest_client: REST_CLIENT_31, rabbitmq: { server_id: 'string' } },
  '3.6+': { rest_client: REST_CLIENT_31, event_rabbitmq: { server_id: 'string' } },
};

/** Pseudo-variables the fragments may read (`$rc`: the return code of the last function, the async one in a resume route). */
export const PSEUDO_VARIABLES = new Set(['rU', 'fU', 'rc', 'ci', 'var', 'json', 'avp']);

/** Transformations, per version: `{rest.escape}` came with rest_client 3.1; `{s.escape.param}` is the core's. */
export const TRANSFORMATIONS: Readonly<Record<OpenSipsVersion, ReadonlySet<string>>> = {
  '2.4': new Set(['s.escape.param', 's.escape.user']),
  '3.1+': new Set(['s.escape.param', 's.escape.user', 'rest.escape']),
  '3.6+': new Set(['s.escape.param', 's.escape.user', 'rest.escape']),
};

/** The script's own statements, not functions. */
export const KEYWORDS = new Set(['if', 'else', 'while', 'switch', 'for', 'route', 'async', 'exit', 'return', 'drop', 'modparam', 'loadmodule']);
