/**
 * Bodies exactly as OpenSIPS's event_rabbitmq publishes them (docs/events.md, "Body formats").
 * The simulator and the decoder tests use these to produce realistic wire bytes.
 */

export type WireValue = string | number | null;
/** Parameters in the script's assignment order; an empty name is an unnamed parameter. */
export type WireParams = ReadonlyArray<readonly [string, WireValue]>;

export interface JsonRpcWireOptions {
  /** OpenSIPS 3.1.0 alone adds `"id":null` (as the first key). */
  readonly legacyIdNull?: boolean;
  /** OpenSIPS 4.0 leaves unset (null) values out. */
  readonly omitNulls?: boolean;
}

/** 2.1 – 3.0 send at most this many bytes of a text body. */
export const TEXT_BODY_MAX_BYTES = 16384;

const UINT64 = 1n << 64n;

/**
 * OpenSIPS 3.1.1+ JSON-RPC notification, compact. Keys come in reverse assignment order (OpenSIPS
 * prepends each parameter); no `params` key when there are none; an array when unnamed.
 */
export function encodeJsonRpc(eventName: string, params: WireParams | null, options: JsonRpcWireOptions = {}): Buffer {
  let out = options.legacyIdNull ? '{"id":null,"jsonrpc":"2.0","method":' : '{"jsonrpc":"2.0","method":';
  out += JSON.stringify(eventName);
  if (params !== null && params.length > 0) {
    // OpenSIPS picks object vs array from the first parameter it emits: the last one assigned.
    const named = params[params.length - 1][0] !== '';
    const members: string[] = [];
    for (let i = params.length - 1; i >= 0; i--) {
      const [name, value] = params[i];
      if (value === null && options.omitNulls) continue;
      const json = jsonValue(value);
      members.push(named ? `${JSON.stringify(name)}:${json}` : json);
    }
    out += named ? `,"params":{${members.join(',')}}` : `,"params":[${members.join(',')}]`;
  }
  out += '}';
  return Buffer.from(out, 'utf8');
}

/**
 * OpenSIPS 2.1 – 3.0 text body: the event name, then `\nname::value` per parameter, no trailing
 * newline; integers as unsigned 64-bit; a value holding a newline is quoted with `"` escaped.
 */
export function encodeText(eventName: string, params: WireParams): Buffer {
  let out = eventName;
  for (const [name, value] of params) {
    out += name === '' ? `\n${textValue(value)}` : `\n${name}::${textValue(value)}`;
  }
  const body = Buffer.from(out, 'utf8');
  return body.length > TEXT_BODY_MAX_BYTES ? body.subarray(0, TEXT_BODY_MAX_BYTES) : body;
}

function jsonValue(value: WireValue): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return JSON.stringify(value);
}

function textValue(value: WireValue): string {
  if (value === null) return '';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return String(value);
    return value < 0 ? (UINT64 + BigInt(value)).toString() : String(value);
  }
  // Only a value with a newline is quoted; backslashes are never escaped (lossy, as OpenSIPS is).
  return value.includes('\n') ? `"${value.replaceAll('"', '\\"')}"` : value;
}
