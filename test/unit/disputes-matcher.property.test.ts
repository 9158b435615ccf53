/**
 * The streamed one-to-one matcher against a brute-force reference: same pairs, duplicates,
 * unknown rows and unmatched CDRs, whatever the numbers, times and window.
 */
import fc from 'fast-check';
import { StreamMatcher, type Resolution } from '../../src/disputes/matcher';

interface Row { row: number; timeUs: number; group: string }
interface Cdr { cdrId: string; timeUs: number; group: string; positionUs: number }

function streamed(rows: Row[], cdrs: Cdr[], windowUs: number): string[] {
  const out: string[] = [];
  const matcher = new StreamMatcher<Row, Cdr>(windowUs, (r, c) => r.group === c.group, (res: Resolution<Row, Cdr>) => {
    if (res.kind === 'pair') out.push(`pair ${res.row.row} ${res.cdr.cdrId}`);
    else if (res.kind === 'duplicate') out.push(`duplicate ${res.row.row} ${res.of.cdrId}`);
    else if (res.kind === 'unknown') out.push(`unknown ${res.row.row}`);
    else out.push(`unmatched ${res.cdr.cdrId}`);
  });
  const sortedRows = [...rows].sort((a, b) => a.timeUs - b.timeUs || a.row - b.row);
  const sortedCdrs = [...cdrs].sort((a, b) => a.positionUs - b.positionUs || (a.cdrId < b.cdrId ? -1 : 1));
  let c = 0;
  for (const row of sortedRows) {
    while (c < sortedCdrs.length && sortedCdrs[c]!.positionUs <= row.timeUs) matcher.addCdr(sortedCdrs[c]!, sortedCdrs[c++]!.positionUs);
    matcher.addRow(row);
  }
  while (c < sortedCdrs.length) matcher.addCdr(sortedCdrs[c]!, sortedCdrs[c++]!.positionUs);
  matcher.finish();
  return out.sort();
}

/** Every pair in the whole input at once, nearest first: what the components must add up to. */
function reference(rows: Row[], cdrs: Cdr[], windowUs: number): string[] {
  const pairs: Array<{ d: number; r: Row; c: Cdr }> = [];
  for (const r of rows) for (const c of cdrs) if (r.group === c.group && Math.abs(r.timeUs - c.timeUs) <= windowUs) pairs.push({ d: Math.abs(r.timeUs - c.timeUs), r, c });
  pairs.sort((a, b) => a.d - b.d || a.r.row - b.r.row || (a.c.cdrId < b.c.cdrId ? -1 : a.c.cdrId > b.c.cdrId ? 1 : 0));
  const rowTaken = new Set<number>();
  const cdrTaken = new Set<string>();
  const nearest = new Map<number, string>();
  const out: string[] = [];
  for (const { r, c } of pairs) {
    if (!nearest.has(r.row)) nearest.set(r.row, c.cdrId);
    if (rowTaken.has(r.row) || cdrTaken.has(c.cdrId)) continue;
    rowTaken.add(r.row);
    cdrTaken.add(c.cdrId);
    out.push(`pair ${r.row} ${c.cdrId}`);
  }
  for (const r of rows) if (!rowTaken.has(r.row)) out.push(nearest.has(r.row) ? `duplicate ${r.row} ${nearest.get(r.row)}` : `unknown ${r.row}`);
  for (const c of cdrs) if (!cdrTaken.has(c.cdrId)) out.push(`unmatched ${c.cdrId}`);
  return out.sort();
}

const input = fc.record({
  rows: fc.array(fc.record({ timeUs: fc.integer({ min: 0, max: 600 }), group: fc.constantFrom('a', 'b', 'c') }), { maxLength: 25 }),
  cdrs: fc.array(fc.record({ positionUs: fc.integer({ min: 0, max: 600 }), setupUs: fc.integer({ min: 0, max: 40 }), group: fc.constantFrom('a', 'b', 'c') }), { maxLength: 25 }),
  windowUs: fc.integer({ min: 0, max: 60 }),
});

describe('StreamMatcher', () => {
  it('resolves exactly as the whole-input reference does', () => {
    fc.assert(fc.property(input, ({ rows, cdrs, windowUs }) => {
      const r = rows.map((row, i) => ({ row: i + 1, ...row }));
      const c = cdrs.map((cdr, i) => ({ cdrId: `c${String(i).padStart(3, '0')}`, timeUs: cdr.positionUs + cdr.setupUs, group: cdr.group, positionUs: cdr.positionUs }));
      const got = streamed(r, c, windowUs);
      expect(got).toEqual(reference(r, c, windowUs));
      // One class per row, each CDR used at most once.
      expect(got.filter((line) => !line.startsWith('unmatched')).length).toBe(r.length);
      const used = got.filter((line) => line.startsWith('pair')).map((line) => line.split(' ')[2]);
      expect(new Set(used).size).toBe(used.length);
    }), { numRuns: 300 });
  });

  it('holds only the calls of the last window', () => {
    let resolved = 0;
    const matcher = new StreamMatcher<Row, Cdr>(60, () => true, () => { resolved += 1; });
    for (let i = 0; i < 10_000; i += 1) {
      matcher.addCdr({ cdrId: `c${i}`, timeUs: i * 100, group: `g${i % 50}`, positionUs: i * 100 }, i * 100);
      matcher.addRow({ row: i + 1, timeUs: i * 100 + 10, group: `g${i % 50}` });
      expect(matcher.heldGroups).toBeLessThanOrEqual(2);
    }
    matcher.finish();
    expect(resolved).toBe(10_000);
  });
});
