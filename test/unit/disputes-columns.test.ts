/** Finding the carrier's columns: recognised names, --columns, split date and time. */
import { mapColumns, parseColumnsFlag } from '../../src/disputes/columns';

describe('columns', () => {
  it('recognises common names, ignoring case and punctuation, with units', () => {
    const result = mapColumns(['Call Date', 'ANI', 'DNIS', 'Duration (ms)', 'Billsec', 'Rate/min', 'Amount', 'Trunk']);
    expect(result).toMatchObject({ ok: true, map: { start: [0], caller: 1, callee: 2, duration: 3, durationUnit: 'ms', billed: 4, rate: 5, cost: 6 } });
  });

  it('a start split over Date and Time', () => {
    expect(mapColumns(['Date', 'Time', 'A Number', 'B Number', 'Minutes'])).toMatchObject({ ok: true, map: { start: [0, 1], caller: 2, callee: 3, duration: 4, durationUnit: 'min' } });
  });

  it('--columns names them, exactly or loosely, and wins over recognition', () => {
    const flag = parseColumnsFlag('start=When+Hour,caller=orig,callee=Term,duration=Secs');
    expect(flag.ok).toBe(true);
    const result = mapColumns(['When', 'Hour', 'Orig', 'Term', 'Secs', 'Duration'], (flag as unknown as { pairs: Map<never, string> }).pairs);
    expect(result).toMatchObject({ ok: true, map: { start: [0, 1], caller: 2, callee: 3, duration: 4, used: { start: 'When+Hour', duration: 'Secs' } } });
  });

  it('says which column is missing and how to name it', () => {
    expect(mapColumns(['Start Time', 'ANI', 'Foo'])).toEqual({
      ok: false, reason: "no column for callee, duration in the header (Start Time, ANI, Foo): name it with --columns, e.g. --columns 'callee=<their header>,duration=<their header>'",
    });
    expect(parseColumnsFlag('start')).toMatchObject({ ok: false });
    expect(parseColumnsFlag('when=x')).toMatchObject({ ok: false });
    const given = parseColumnsFlag('callee=Nope') as unknown as { pairs: Map<never, string> };
    expect(mapColumns(['Start', 'ANI', 'DNIS', 'Duration'], given.pairs)).toMatchObject({ ok: false, reason: expect.stringMatching(/no column "Nope"/) });
  });

  it('only a billed column: it stands in for the duration', () => {
    expect(mapColumns(['Start', 'ANI', 'DNIS', 'Billed Duration'])).toMatchObject({ ok: true, map: { duration: 3, billed: null, durationFromBilled: true } });
  });
});
