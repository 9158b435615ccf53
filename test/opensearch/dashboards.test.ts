/**
 * opensearch-dashboards/qbl.ndjson: in sync with kibana/qbl.ndjson, shaped as OpenSearch
 * Dashboards (Kibana 7.10) imports it, every referenced field known to its index pattern, and
 * the scripted fields' painless accepted by the real node (no OpenSearch Dashboards runs here).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { OSD_ATTRIBUTES, OSD_MIGRATION_VERSION, runtimeToScripted, toOpenSearchDashboards, type SavedObject } from '../../opensearch-dashboards/convert';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import { cdrAction } from '../../src/stores/search/documents';
import { installSchema } from '../../src/stores/search/install';
import { OpenSearchEngine } from '../../src/stores/search/opensearch-engine';
import { answeredCdr, noSleep, T0_US } from '../unit/search-fixtures';
import { cleanUp, describeOnNode, nodeConfig, rawClient, uniquePrefix } from './node';

const ROOT = join(__dirname, '..', '..');
const KIBANA = join(ROOT, 'kibana', 'qbl.ndjson');
const OSD = join(ROOT, 'opensearch-dashboards', 'qbl.ndjson');

if (process.env.QBL_UPDATE_DASHBOARDS === '1') writeFileSync(OSD, toOpenSearchDashboards(readFileSync(KIBANA, 'utf8')));

const objects: SavedObject[] = readFileSync(OSD, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as SavedObject);
const byId = new Map(objects.map((o) => [o.id, o]));

interface FieldSpec { name: string; type: string; scripted: boolean; script?: string; aggregatable: boolean }
function fieldsOf(patternId: string): Map<string, FieldSpec> {
  const pattern = byId.get(patternId)!;
  return new Map((JSON.parse(String(pattern.attributes.fields)) as FieldSpec[]).map((f) => [f.name, f]));
}
function patternOf(object: SavedObject): string {
  return object.references.find((r) => r.type === 'index-pattern')!.id;
}

describe('opensearch-dashboards/qbl.ndjson', () => {
  it('is what the converter makes of kibana/qbl.ndjson (regenerate with QBL_UPDATE_DASHBOARDS=1)', () => {
    expect(readFileSync(OSD, 'utf8')).toBe(toOpenSearchDashboards(readFileSync(KIBANA, 'utf8')));
  });

  it('holds only 7.10-shaped objects: known attributes, 7.x migration versions, no 8.x fields', () => {
    expect(objects.map((o) => o.type).sort()).toEqual(['dashboard', 'index-pattern', 'index-pattern', 'index-pattern', 'search', 'search',
      'visualization', 'visualization', 'visualization', 'visualization', 'visualization']);
    for (const object of objects) {
      expect(Object.keys(object).sort()).toEqual(['attributes', 'id', 'migrationVersion', 'references', 'type']);
      expect(object.migrationVersion).toEqual({ [object.type]: OSD_MIGRATION_VERSION[object.type] });
      for (const key of Object.keys(object.attributes)) expect(OSD_ATTRIBUTES[object.type]).toContain(key);
      for (const ref of object.references) expect(byId.get(ref.id)?.type).toBe(ref.type);
    }
    const panels = JSON.parse(String(byId.get('qbl-dashboard')!.attributes.panelsJSON)) as Array<{ version: string; panelRefName: string }>;
    expect(panels.map((p) => p.version)).toEqual(panels.map(() => '7.10.2'));
  });

  it('index patterns list every mapped field and the runtime fields as painless scripted fields', () => {
    const cdrs = fieldsOf('qbl-cdrs-data-view');
    expect(byId.get('qbl-cdrs-data-view')!.attributes.timeFieldName).toBe('invite_at');
    expect(byId.get('qbl-cdrs-by-start-data-view')!.attributes.timeFieldName).toBe('start_at');
    expect(cdrs.get('start_at')).toMatchObject({ type: 'date', aggregatable: true, scripted: false });
    expect(cdrs.get('caller')).toMatchObject({ type: 'string', aggregatable: true });
    expect(cdrs.get('asr_pct')).toMatchObject({ scripted: true, lang: 'painless', type: 'number' });
    expect(cdrs.get('asr_pct')!.script).not.toMatch(/emit\(/);
    expect(fieldsOf('qbl-events-data-view').get('time')).toMatchObject({ type: 'date' });
    expect(String(byId.get('qbl-cdrs-data-view')!.attributes.fieldFormatMap)).not.toContain('humanizePrecise');
  });

  it('every field a visualization or saved search uses exists in its index pattern', () => {
    for (const object of objects.filter((o) => o.type === 'visualization' || o.type === 'search')) {
      const fields = fieldsOf(patternOf(object));
      const used: string[] = [];
      if (object.type === 'search') {
        used.push(...(object.attributes.columns as string[]), ...(object.attributes.sort as string[][]).map((s) => s[0]!));
      } else {
        const vis = JSON.parse(String(object.attributes.visState)) as { aggs: Array<{ params: { field?: string } }> };
        used.push(...vis.aggs.map((a) => a.params.field).filter((f): f is string => f !== undefined));
      }
      for (const field of used) expect([object.id, field, fields.has(field)]).toEqual([object.id, field, true]);
    }
  });

  it('turns runtime `emit` into scripted `return`', () => {
    expect(runtimeToScripted("emit(doc['a'].value)")).toBe("return (doc['a'].value);");
    expect(runtimeToScripted("if (x) { emit(1) }")).toBe('if (x) { return (1) } return null;');
  });
});

describeOnNode('OpenSearch Dashboards scripted fields on a real node', () => {
  let raw: Client;
  let prefix: string;

  beforeEach(() => {
    raw = rawClient();
    prefix = uniquePrefix();
  });

  afterEach(async () => {
    await cleanUp(raw, prefix);
    await raw.close();
  });

  it('each scripted field compiles and computes ASR, ACD and PDD from real CDR documents', async () => {
    const engine = OpenSearchEngine.fromConfig(nodeConfig(prefix));
    await installSchema(engine, prefix, 30);
    const answered = answeredCdr('ans@host', T0_US);
    const failed = answeredCdr('busy@host', T0_US + 5);
    const busy = { ...failed, cdr: { ...failed.cdr, disposition: 'busy' as const, final_code: 486, answer_at: null, talk_us: null } };
    const writer = new BulkWriter(engine, { maxDocs: 10, concurrency: 1, sleep: noSleep });
    const written = writer.write([cdrAction(prefix, answered), cdrAction(prefix, busy)]);
    expect((await written).every((o) => o.accepted)).toBe(true);
    await writer.close();
    await engine.refresh(`${prefix}-*`);
    await engine.close();

    const scripted = [...fieldsOf('qbl-cdrs-data-view').values()].filter((f) => f.scripted);
    expect(scripted.map((f) => f.name).sort()).toEqual(['asr_pct', 'pdd_ms', 'talk_s']);
    const response = await raw.search({
      index: `${prefix}-cdrs-*`,
      body: {
        size: 0,
        aggs: Object.fromEntries(scripted.map((f) => [f.name, { avg: { script: { source: f.script!, lang: 'painless' } } }])),
      },
    });
    const aggs = response.body.aggregations as Record<string, { value: number }>;
    expect(aggs.asr_pct!.value).toBe(50);
    expect(aggs.talk_s!.value).toBeCloseTo(61.492997, 6);
    expect(aggs.pdd_ms!.value).toBeCloseTo(135.866, 6);
  });
});
