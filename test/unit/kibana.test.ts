/** kibana/qbl.ndjson: parses, is self-consistent, and references only fields our index templates map. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexPattern, type DocumentKind } from '../../src/stores/search/documents';
import { propertiesFor } from '../../src/stores/search/templates';

interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: Array<{ id: string; name: string; type: string }>;
}

const objects: SavedObject[] = readFileSync(join(__dirname, '..', '..', 'kibana', 'qbl.ndjson'), 'utf8')
  .split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as SavedObject);
const byId = new Map(objects.map((object) => [object.id, object]));
const ofType = (type: string) => objects.filter((object) => object.type === type);
const json = <T>(text: unknown): T => JSON.parse(text as string) as T;

const dataViews = ofType('index-pattern');
const kindOf = (dataView: SavedObject): DocumentKind =>
  (dataView.attributes.title === indexPattern('qbl', 'cdrs') ? 'cdrs' : 'events');
const runtimeFields = (dataView: SavedObject): Record<string, { type: string; script: { source: string } }> =>
  (dataView.attributes.runtimeFieldMap ? json(dataView.attributes.runtimeFieldMap) : {});

/** Fields of the template behind a data view, plus the data view's runtime fields. */
function knownFields(dataView: SavedObject): Set<string> {
  return new Set([...Object.keys(propertiesFor(kindOf(dataView))), ...Object.keys(runtimeFields(dataView))]);
}

function dataViewOf(object: SavedObject): SavedObject {
  const reference = object.references.find((ref) => ref.type === 'index-pattern');
  expect(reference).toBeDefined();
  return byId.get(reference!.id)!;
}

/** Every field name a visualization or saved search uses. */
function fieldsUsed(object: SavedObject): string[] {
  if (object.type === 'visualization') {
    const visState = json<{ aggs: Array<{ params: { field?: string } }> }>(object.attributes.visState);
    return visState.aggs.map((agg) => agg.params.field).filter((field): field is string => field !== undefined);
  }
  if (object.type === 'search') {
    const sort = object.attributes.sort as Array<[string, string]>;
    return [...(object.attributes.columns as string[]), ...sort.map(([field]) => field)];
  }
  return [];
}

describe('kibana/qbl.ndjson', () => {
  it('parses, with unique ids and every embedded JSON string valid', () => {
    expect(objects.length).toBeGreaterThanOrEqual(8);
    expect(byId.size).toBe(objects.length);
    for (const object of objects) {
      expect(typeof object.attributes.title).toBe('string');
      for (const key of ['visState', 'uiStateJSON', 'panelsJSON', 'optionsJSON', 'runtimeFieldMap', 'fieldFormatMap', 'fields']) {
        if (object.attributes[key] !== undefined) expect(() => json(object.attributes[key])).not.toThrow();
      }
      const meta = object.attributes.kibanaSavedObjectMeta as { searchSourceJSON?: string } | undefined;
      if (meta?.searchSourceJSON) expect(() => json(meta.searchSourceJSON)).not.toThrow();
    }
  });

  it('data views point at our index patterns, with date_nanos time fields', () => {
    expect(dataViews.map((view) => view.attributes.title).sort())
      .toEqual([indexPattern('qbl', 'cdrs'), indexPattern('qbl', 'cdrs'), indexPattern('qbl', 'events')].sort());
    for (const view of dataViews) {
      const field = view.attributes.timeFieldName as string;
      expect(propertiesFor(kindOf(view))[field]).toMatchObject({ type: 'date_nanos' });
    }
    // The dashboard's CDR view is on invite_at; invite_at is null for calls first seen mid-way, so a
    // second view on start_at (never null) shows those too (docs/elasticsearch.md).
    const byId = new Map(dataViews.map((view) => [view.id, view.attributes.timeFieldName]));
    expect(byId.get('qbl-cdrs-data-view')).toBe('invite_at');
    expect(byId.get('qbl-cdrs-by-start-data-view')).toBe('start_at');
  });

  it('every field the objects use exists in the index template (runtime fields built only from template fields)', () => {
    for (const view of dataViews) {
      const template = propertiesFor(kindOf(view));
      for (const [name, field] of Object.entries(runtimeFields(view))) {
        const used = [...field.script.source.matchAll(/doc\['([^']+)'\]/g)].map((match) => match[1]!);
        expect({ name, missing: used.filter((f) => !(f in template)) }).toEqual({ name, missing: [] });
        expect(used.length).toBeGreaterThan(0);
      }
      if (view.attributes.fieldFormatMap) {
        for (const name of Object.keys(json<object>(view.attributes.fieldFormatMap))) expect(knownFields(view).has(name)).toBe(true);
      }
    }
    for (const object of [...ofType('visualization'), ...ofType('search')]) {
      const known = knownFields(dataViewOf(object));
      const used = fieldsUsed(object);
      expect(used.length).toBeGreaterThan(0);
      expect({ id: object.id, missing: used.filter((field) => !known.has(field)) }).toEqual({ id: object.id, missing: [] });
    }
  });

  it('every reference resolves to an object of the right type, and each dashboard panel has its reference', () => {
    for (const object of objects) {
      for (const reference of object.references) expect(byId.get(reference.id)?.type).toBe(reference.type);
    }
    const [dashboard] = ofType('dashboard');
    const panels = json<Array<{ panelRefName: string; type: string }>>(dashboard!.attributes.panelsJSON);
    const names = new Set(dashboard!.references.map((reference) => reference.name));
    for (const panel of panels) expect(names.has(panel.panelRefName)).toBe(true);
    expect(panels).toHaveLength(dashboard!.references.length);
  });

  it('the dashboard shows traffic by disposition, ASR, ACD, PDD, reply codes, top numbers and a dispute table', () => {
    const [dashboard] = ofType('dashboard');
    const panels = dashboard!.references.map((reference) => byId.get(reference.id)!);
    const visStates = panels.filter((panel) => panel.type === 'visualization')
      .map((panel) => json<{ aggs: Array<{ type: string; params: Record<string, unknown> }> }>(panel.attributes.visState));
    const aggs = visStates.flatMap((state) => state.aggs);
    expect(aggs).toEqual(expect.arrayContaining([
      expect.objectContaining({ type: 'date_histogram', params: expect.objectContaining({ interval: '1m' }) }),
      expect.objectContaining({ type: 'terms', params: expect.objectContaining({ field: 'disposition' }) }),
      expect.objectContaining({ type: 'avg', params: expect.objectContaining({ field: 'asr_pct' }) }),
      expect.objectContaining({ type: 'avg', params: expect.objectContaining({ field: 'talk_s' }) }),
      expect.objectContaining({ type: 'avg', params: expect.objectContaining({ field: 'pdd_ms' }) }),
      expect.objectContaining({ type: 'terms', params: expect.objectContaining({ field: 'final_code' }) }),
      expect.objectContaining({ type: 'terms', params: expect.objectContaining({ field: 'caller' }) }),
      expect.objectContaining({ type: 'terms', params: expect.objectContaining({ field: 'callee' }) }),
    ]));
    const table = panels.find((panel) => panel.type === 'search')!;
    expect(table.attributes.columns).toEqual(expect.arrayContaining([
      'call_id', 'caller', 'callee', 'disposition', 'final_code', 'invite_at', 'answer_at', 'end_at', 'talk_us', 'hangup_by',
    ]));
  });

  it('the Kibana version the docs require is the one the objects were saved by (Kibana refuses newer objects)', () => {
    const versions = objects.map((o) => (o as unknown as { coreMigrationVersion: string }).coreMigrationVersion);
    const newest = versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!;
    const [major, minor] = newest.split('.');
    const required = `Kibana ${major}.${minor} or later`;
    for (const file of ['README.md', 'docs/elasticsearch.md', 'Makefile']) {
      const text = readFileSync(join(__dirname, '..', '..', file), 'utf8').replace(/\n#?\s*/g, ' ');
      expect({ file, says: text.includes(required) }).toEqual({ file, says: true });
      expect({ file, claims: /Kibana 8\.x/.test(text) }).toEqual({ file, claims: false });
    }
  });
});
