/** SQLite's CDR stream (the reader's, beside the writer that stored them): keyset pages over (start, cdr_id), ties across page ends, ranges, events of many calls. */
import { join } from 'node:path';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { answeredCall, T0_US } from '../unit/search-fixtures';
import { integrationFixture } from '../support/fixture';

describe('SqliteReader.streamCdrs', () => {
  const f = integrationFixture('stream', { broker: false });
  let store: SqliteStore;
  let reader: SqliteReader;

  beforeAll(async () => {
    store = SqliteStore.open(join(f.dir, 'qbl.db'));
    f.defer(() => store.close());
    // 50 calls, five at each start: pages of 7 end in the middle of ties.
    for (let i = 0; i < 50; i += 1) await store.commit(answeredCall(`call-${i}`, T0_US + Math.floor(i / 5) * 1_000_000));
    reader = SqliteReader.open(join(f.dir, 'qbl.db'));
    f.defer(() => reader.close());
  });

  it('every CDR of the range once, oldest first, ties by cdr_id, in pages of the size asked', async () => {
    const pages: Array<Array<{ start: number; id: string }>> = [];
    for await (const page of reader.streamCdrs({ sinceUs: T0_US + 1_000_000, untilUs: T0_US + 9_000_000, pageSize: 7 })) {
      pages.push(page.map((cdr) => ({ start: cdr.startUs, id: cdr.cdr.cdr_id })));
    }
    const all = pages.flat();
    expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 7, 7, 5]);
    expect(all).toHaveLength(40);
    const sorted = [...all].sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
    expect(all).toEqual(sorted);
    expect(new Set(all.map((c) => c.id)).size).toBe(40);
  });

  it('events of many calls, each in event-time order', async () => {
    const grouped = await reader.eventRowsForCalls(['call-3', 'call-40', 'nobody']);
    expect([...grouped.keys()].sort()).toEqual(['call-3', 'call-40']);
    expect(grouped.get('call-3')!.map((e) => e.kind)).toEqual(['invite_request', 'invite_reply', 'bye_request', 'bye_reply']);
  });
});
