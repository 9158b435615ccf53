/**
 * OpenSearch Dashboards counterpart of kibana/qbl.ndjson, derived from it so the two never drift.
 * OpenSearch Dashboards forked from Kibana 7.10.2: saved objects must look like 7.10 ones.
 * - 8.x migration fields become 7.x `migrationVersion`s, and attributes 7.10 does not map are
 *   dropped (its saved-object index mapping is strict);
 * - runtime fields (Kibana 7.11+) become painless scripted fields (`emit(x)` → `return x`);
 * - index patterns carry their full field list from our index templates, so no manual
 *   "refresh field list" is needed after import;
 * - the `humanizePrecise` duration output (Kibana 7.13+) becomes `asSeconds` with the same precision.
 * Regenerate with `QBL_UPDATE_DASHBOARDS=1 npx jest -c test/opensearch/jest.config.js dashboards`.
 */
import { CDR_PROPERTIES, EVENT_PROPERTIES } from '../src/stores/search/templates';

type Attrs = Record<string, unknown>;

export interface SavedObject {
  id: string;
  type: string;
  references: Array<{ id: string; name: string; type: string }>;
  attributes: Attrs;
  migrationVersion?: Record<string, string>;
  [extra: string]: unknown;
}

/** Attributes each type has in OpenSearch Dashboards' (Kibana 7.10) saved-object mappings. */
export const OSD_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  'index-pattern': ['title', 'timeFieldName', 'intervalName', 'notExpandable', 'fields', 'fieldFormatMap', 'sourceFilters', 'typeMeta', 'type'],
  visualization: ['title', 'description', 'version', 'uiStateJSON', 'visState', 'savedSearchRefName', 'kibanaSavedObjectMeta'],
  search: ['title', 'description', 'hits', 'columns', 'sort', 'version', 'kibanaSavedObjectMeta'],
  dashboard: ['title', 'description', 'hits', 'version', 'timeRestore', 'timeFrom', 'timeTo', 'refreshInterval', 'optionsJSON', 'panelsJSON', 'kibanaSavedObjectMeta'],
};

/** Versions at which 7.10 last migrated each type: objects at these need no migration. */
export const OSD_MIGRATION_VERSION: Readonly<Record<string, string>> = {
  'index-pattern': '7.6.0',
  visualization: '7.10.0',
  search: '7.9.3',
  dashboard: '7.9.3',
};

const PANEL_VERSION = '7.10.2';

/** Mapping type → index-pattern field type, as 7.10 derives it from field caps. */
const FIELD_TYPES: Readonly<Record<string, string>> = {
  keyword: 'string', text: 'string', integer: 'number', long: 'number', double: 'number',
  boolean: 'boolean', date_nanos: 'date', date: 'date', binary: 'string', ip: 'ip',
};

interface FieldSpec {
  name: string;
  type: string;
  esTypes?: string[];
  count: number;
  scripted: boolean;
  script?: string;
  lang?: string;
  searchable: boolean;
  aggregatable: boolean;
  readFromDocValues: boolean;
}

function mappedFields(properties: Readonly<Record<string, Readonly<Record<string, unknown>>>>): FieldSpec[] {
  return Object.entries(properties).map(([name, mapping]) => {
    const esType = String(mapping.type);
    const indexed = esType !== 'binary';
    const docValues = indexed && esType !== 'text';
    return {
      name, type: FIELD_TYPES[esType] ?? 'unknown', esTypes: [esType], count: 0, scripted: false,
      searchable: indexed, aggregatable: docValues, readFromDocValues: docValues,
    };
  });
}

/** `emit(x)` (runtime field) → `return x;` (scripted field), with `return null` when nothing was emitted. */
export function runtimeToScripted(source: string): string {
  const body = source.replace(/emit\(/g, 'return (');
  return /^\s*if\b/.test(body) ? `${body} return null;` : `return ${body.replace(/^return \(/, '(')};`;
}

function scriptedFields(runtimeFieldMap: string | undefined): FieldSpec[] {
  if (runtimeFieldMap === undefined) return [];
  const map = JSON.parse(runtimeFieldMap) as Record<string, { type: string; script: { source: string } }>;
  return Object.entries(map).map(([name, field]) => ({
    name, type: FIELD_TYPES[field.type] ?? 'number', count: 0, scripted: true,
    script: runtimeToScripted(field.script.source), lang: 'painless',
    searchable: true, aggregatable: true, readFromDocValues: false,
  }));
}

function propertiesForPattern(title: string): Readonly<Record<string, Readonly<Record<string, unknown>>>> {
  if (/-cdrs-\*$/.test(title)) return CDR_PROPERTIES;
  if (/-events-\*$/.test(title)) return EVENT_PROPERTIES;
  throw new Error(`index pattern ${title} is neither CDRs nor events`);
}

function convertAttributes(type: string, attributes: Attrs): Attrs {
  const allowed = OSD_ATTRIBUTES[type];
  if (allowed === undefined) throw new Error(`no OpenSearch Dashboards counterpart for saved object type ${type}`);
  const out: Attrs = {};
  for (const key of allowed) if (attributes[key] !== undefined) out[key] = attributes[key];

  if (type === 'index-pattern') {
    const fields = [...mappedFields(propertiesForPattern(String(attributes.title))), ...scriptedFields(attributes.runtimeFieldMap as string | undefined)];
    out.fields = JSON.stringify(fields);
    if (typeof out.fieldFormatMap === 'string') out.fieldFormatMap = out.fieldFormatMap.replace(/"humanizePrecise"/g, '"asSeconds"');
  }
  if (type === 'dashboard') {
    const panels = JSON.parse(String(attributes.panelsJSON)) as Array<Record<string, unknown>>;
    out.panelsJSON = JSON.stringify(panels.map((panel) => ({ ...panel, version: PANEL_VERSION, embeddableConfig: {} })));
    const options = JSON.parse(String(attributes.optionsJSON ?? '{}')) as Record<string, unknown>;
    out.optionsJSON = JSON.stringify({ useMargins: options.useMargins ?? true, hidePanelTitles: options.hidePanelTitles ?? false });
    out.kibanaSavedObjectMeta ??= { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }) };
  }
  return out;
}

/** One Kibana saved object as OpenSearch Dashboards imports it. */
export function convertObject(object: SavedObject): SavedObject {
  return {
    id: object.id,
    type: object.type,
    attributes: convertAttributes(object.type, object.attributes),
    references: object.references,
    migrationVersion: { [object.type]: OSD_MIGRATION_VERSION[object.type]! },
  };
}

/** kibana/qbl.ndjson text → opensearch-dashboards/qbl.ndjson text. */
export function toOpenSearchDashboards(kibanaNdjson: string): string {
  return kibanaNdjson.split('\n').filter((line) => line.trim() !== '')
    .map((line) => JSON.stringify(convertObject(JSON.parse(line) as SavedObject)))
    .join('\n') + '\n';
}
