/**
 * Duplicate keys in a JSON-RPC body: the first occurrence wins, whichever path the parser takes
 * (the cheap member count when nothing is repeated, the exact walk otherwise). Keys and values
 * carry the characters that could fool a scan (quotes, backslashes, colons, braces), repeated keys
 * are drawn from a small pool, values may nest, and the spacing varies.
 */
import fc from 'fast-check';
import { parseJsonRpc } from '../../consumers/decode/json-rpc';

const chars = fc.constantFrom('a', 'b', '"', '\\', ':', '{', '}', ',', '[', ' ', 'é');
const key = fc.oneof(fc.constantFrom('call_id', 'method', 'x', 'a"b', 'c\\', 'd:'), fc.string({ unit: chars, maxLength: 6 }));
const leaf = fc.oneof(fc.string({ unit: chars, maxLength: 8 }), fc.integer(), fc.constant(null), fc.boolean());
const value = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.dictionary(key, leaf, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 3 }) },
);
const space = fc.constantFrom('', ' ', '\n ');

/** The members as written, first occurrence wins: what the decoder must keep. */
function firstWins(members: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [name, v] of members) if (!Object.hasOwn(kept, name)) kept[name] = v;
  return kept;
}

describe('parseJsonRpc and duplicate keys', () => {
  it('keeps the first occurrence of every params key, and every member of a body without repeats', () => {
    fc.assert(fc.property(fc.array(fc.tuple(key, value), { maxLength: 8 }), space, space, (members, s1, s2) => {
      const params = members.map(([name, v]) => `${s1}${JSON.stringify(name)}${s2}:${s1}${JSON.stringify(v)}`).join(',');
      const body = `{${s2}"jsonrpc":"2.0",${s1}"method":"E_X",${s2}"params"${s1}:${s2}{${params}}${s1}}`;
      const parsed = parseJsonRpc(body);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect({ ...parsed.params }).toEqual(firstWins(members));
    }), { numRuns: 2000 });
  });
});
