/** Pure mapping to search documents, index names and templates. */
import { CDR_FIELDS, EMPTY_EXTRAS, parseUs } from '../../correlators/cdr';
import {
  cdrAction, cdrActions, cdrDocument, dedupeActions, eventAction, eventDocument, indexName, indexPattern,
} from '../../src/stores/search/documents';
import { CDR_PROPERTIES, EVENT_PROPERTIES, indexTemplate, retentionPolicy } from '../../src/stores/search/templates';
import { answeredCdr, storedEvent, T0_US } from './search-fixtures';

describe('index names', () => {
  it('uses the UTC month of the given time', () => {
    expect(indexName('qbl', 'cdrs', Date.UTC(2026, 10, 30, 23, 59, 59) * 1000 + 999_999)).toBe('qbl-cdrs-2026.11');
    expect(indexName('qbl', 'events', Date.UTC(2026, 11, 1) * 1000)).toBe('qbl-events-2026.12');
    expect(indexName('acme', 'events', Date.UTC(2027, 0, 1) * 1000 - 1)).toBe('acme-events-2026.12');
    expect(indexPattern('acme', 'cdrs')).toBe('acme-cdrs-*');
  });

  it('puts a CDR in the month of its call start, an event in the month of its own time', () => {
    const start = Date.UTC(2026, 10, 30, 23, 59, 0) * 1000; // the call crosses into December
    const record = answeredCdr('crossing@host', start);
    const bye = storedEvent('crossing@host', 'bye_request', start + 120_000_000);
    expect(cdrAction('qbl', record)).toMatchObject({ index: 'qbl-cdrs-2026.11', id: record.cdr.cdr_id });
    expect(eventAction('qbl', bye)).toMatchObject({ index: 'qbl-events-2026.12', id: bye.event.id });
    // A rewrite of the CDR (more events seen, same start) targets the same document.
    const later = { ...record, cdr: { ...record.cdr, events: 9 } };
    expect(cdrAction('qbl', later).index).toBe(cdrAction('qbl', record).index);
    expect(cdrActions('qbl', later)).toEqual([cdrAction('qbl', later)]);
  });

  it('a rewrite whose start moved into another month also deletes the copy under the old start', () => {
    const december = Date.UTC(2026, 11, 1, 0, 0, 30) * 1000;
    const november = Date.UTC(2026, 10, 30, 23, 59, 50) * 1000;
    const moved = { ...answeredCdr('edge@host', november), previousStartUs: december };
    expect(cdrActions('qbl', moved)).toEqual([
      cdrAction('qbl', moved),
      { index: 'qbl-cdrs-2026.12', id: moved.cdr.cdr_id, document: {}, op: 'delete' },
    ]);
    // Same month: nothing to delete.
    expect(cdrActions('qbl', { ...moved, previousStartUs: november - 1_000_000 })).toEqual([cdrAction('qbl', moved)]);
  });
});

describe('documents', () => {
  it('a CDR document holds every cdr.md field, the extras and start_at, with 6-digit timestamps', () => {
    const record = answeredCdr('a@h', T0_US);
    const doc = cdrDocument(record);
    for (const field of CDR_FIELDS) expect(doc[field]).toEqual(record.cdr[field]);
    for (const field of Object.keys(EMPTY_EXTRAS)) expect(field in doc).toBe(true);
    expect(doc.start_at).toBe('2026-11-30T00:53:20.912345Z');
    expect(parseUs(doc.invite_at as string)).toBe(T0_US);
  });

  it('an event document carries the EventRow fields, and the exact bytes when the body is not UTF-8', () => {
    const stored = storedEvent('a@h', 'invite_reply', T0_US, { replyCode: 183 });
    const doc = eventDocument(stored);
    expect(doc).toMatchObject({
      id: stored.event.id, call_id: 'a@h', kind: 'invite_reply', event_name: 'E_QBL_INVITE_REPLY',
      time: '2026-11-30T00:53:20.912345Z', reply_code: 183, exchange: 'opensips', routing_key: 'qbl', body_base64: null,
    });
    const raw = Buffer.from([0x45, 0x5f, 0xff, 0xfe, 0x0a]);
    const binary = eventDocument({ ...stored, body: raw });
    expect(Buffer.from(binary.body_base64 as string, 'base64').equals(raw)).toBe(true);
  });

  it('every field a document can hold is mapped in its template', () => {
    const record = answeredCdr('a@h', T0_US);
    const acc = storedEvent('a@h', 'acc_cdr', T0_US, {
      acc: { method: 'INVITE', durationS: 3, durationMs: 2006, setupS: 0, createdS: 1796000000, sipReason: 'OK' },
    });
    expect(Object.keys(cdrDocument(record)).sort()).toEqual(Object.keys(CDR_PROPERTIES).sort());
    expect(Object.keys(eventDocument({ ...acc, body: Buffer.from([0xff]) })).sort()).toEqual(Object.keys(EVENT_PROPERTIES).sort());
  });

  it('dedupeActions keeps the last version of each (index, id)', () => {
    const a = { index: 'i', id: '1', document: { v: 1 } };
    const b = { index: 'i', id: '2', document: { v: 1 } };
    const a2 = { index: 'i', id: '1', document: { v: 2 } };
    expect(dedupeActions([a, b, a2])).toEqual([b, a2]);
  });
});

describe('templates', () => {
  it('maps timestamps as date_nanos, ids as keyword, codes and durations as integers', () => {
    expect(CDR_PROPERTIES.invite_at).toMatchObject({ type: 'date_nanos' });
    expect(CDR_PROPERTIES.start_at).toMatchObject({ type: 'date_nanos' });
    expect(EVENT_PROPERTIES.time).toMatchObject({ type: 'date_nanos' });
    expect(CDR_PROPERTIES.call_id).toEqual({ type: 'keyword' });
    expect(CDR_PROPERTIES.caller).toEqual({ type: 'keyword' });
    expect(CDR_PROPERTIES.final_code).toEqual({ type: 'integer' });
    expect(CDR_PROPERTIES.talk_us).toEqual({ type: 'long' });
    expect(CDR_PROPERTIES.complete).toEqual({ type: 'boolean' });
    expect(EVENT_PROPERTIES.reply_code).toEqual({ type: 'integer' });
  });

  it('targets our index pattern and attaches the lifecycle policy only when given', () => {
    const withPolicy = indexTemplate('qbl', 'cdrs', 'qbl-retention');
    expect(withPolicy).toMatchObject({ name: 'qbl-cdrs', indexPatterns: ['qbl-cdrs-*'], lifecyclePolicy: 'qbl-retention' });
    expect(withPolicy.mappings).toMatchObject({ dynamic: false });
    expect(indexTemplate('qbl', 'events').lifecyclePolicy).toBeUndefined();
  });

  it('keeps every document of a monthly index at least the retention period', () => {
    expect(retentionPolicy('qbl', 400)).toEqual({
      name: 'qbl-retention', indexPatterns: ['qbl-cdrs-*', 'qbl-events-*'], deleteAfterDays: 431,
    });
  });
});
