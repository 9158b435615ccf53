/**
 * Index templates (explicit mappings) and the retention policy, as engine-neutral data.
 *
 * `dynamic: false`: a field the mapping does not know is kept in `_source` but not indexed,
 * never rejected. Monthly indices are written for months (late events), so an index created by
 * an older version must keep accepting documents from a newer one.
 */
import type { DocumentKind } from './documents';
import { indexPattern } from './documents';
import type { IndexTemplateSpec, LifecyclePolicySpec } from './engine';
import { CALL_PROPERTIES, callsIndex } from './calls';

/** Schema version, stored in the template's `_meta`; bump it when a mapping changes. */
export const SCHEMA_VERSION = 1;

const TIMESTAMP = { type: 'date_nanos', format: 'strict_date_optional_time_nanos' } as const;
const KEYWORD = { type: 'keyword' } as const;
const INTEGER = { type: 'integer' } as const;
const LONG = { type: 'long' } as const;
const BOOLEAN = { type: 'boolean' } as const;

/** No field holds an IP address: the quick-billing-log events carry none. */
export const CDR_PROPERTIES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = Object.freeze({
  cdr_id: KEYWORD,
  call_id: KEYWORD,
  caller: KEYWORD,
  callee: KEYWORD,
  disposition: KEYWORD,
  final_code: INTEGER,
  invite_at: TIMESTAMP,
  ringing_at: TIMESTAMP,
  answer_at: TIMESTAMP,
  end_at: TIMESTAMP,
  pdd_us: LONG,
  setup_us: LONG,
  talk_us: LONG,
  total_us: LONG,
  bye_code: INTEGER,
  hangup_by: KEYWORD,
  closed_by: KEYWORD,
  complete: BOOLEAN,
  events: INTEGER,
  source: KEYWORD,
  caller_e164: KEYWORD,
  callee_e164: KEYWORD,
  acc_duration_ms: LONG,
  acc_setup_ms: LONG,
  acc_code: INTEGER,
  acc_mismatch: BOOLEAN,
  start_at: TIMESTAMP,
  // When this version of the CDR was handed to the engine: the lookup of every instance reads
  // the CDRs written since its last poll by it (docs/lookup.md).
  written_at: TIMESTAMP,
});

/** Fields added to the CDR mapping after indices were first created: installSchema puts them on existing indices too. */
export const ADDED_CDR_PROPERTIES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = Object.freeze({
  written_at: TIMESTAMP,
});

export const EVENT_PROPERTIES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = Object.freeze({
  id: KEYWORD,
  call_id: KEYWORD,
  cdr_id: KEYWORD,
  kind: KEYWORD,
  event_name: KEYWORD,
  time: TIMESTAMP,
  reply_code: INTEGER,
  direction: KEYWORD,
  caller: KEYWORD,
  callee: KEYWORD,
  exchange: KEYWORD,
  routing_key: KEYWORD,
  received_at: TIMESTAMP,
  acc_method: KEYWORD,
  acc_duration_s: LONG,
  acc_duration_ms: LONG,
  acc_setup_s: LONG,
  acc_created_s: LONG,
  acc_sip_reason: KEYWORD,
  // Full-text search over the raw body; not aggregatable (bodies can be 64 KiB).
  body: { type: 'text', norms: false },
  // Exact bytes when the body is not valid UTF-8; kept in _source only.
  body_base64: { type: 'binary' },
});

export function propertiesFor(kind: DocumentKind): Readonly<Record<string, Readonly<Record<string, unknown>>>> {
  return kind === 'cdrs' ? CDR_PROPERTIES : EVENT_PROPERTIES;
}

export function lifecyclePolicyName(prefix: string): string {
  return `${prefix}-retention`;
}

export function templateName(prefix: string, kind: DocumentKind): string {
  return `${prefix}-${kind}`;
}

/** Above the built-in templates (priority 100 and below) so ours win for our patterns. */
const TEMPLATE_PRIORITY = 500;

export function indexTemplate(prefix: string, kind: DocumentKind, lifecyclePolicy?: string): IndexTemplateSpec {
  return {
    name: templateName(prefix, kind),
    indexPatterns: [indexPattern(prefix, kind)],
    priority: TEMPLATE_PRIORITY,
    settings: {
      'index.number_of_shards': 1,
      // A single-node cluster stays green; a larger one keeps a replica.
      'index.auto_expand_replicas': '0-1',
    },
    mappings: {
      dynamic: false,
      properties: propertiesFor(kind),
    },
    lifecyclePolicy,
    meta: { managed_by: 'opensips-qbl', schema_version: SCHEMA_VERSION },
  };
}

/**
 * The call documents' index (calls.ts): one index named exactly, no lifecycle policy (a closed
 * call's document is its history for late events; docs/scaling.md).
 */
export function callsTemplate(prefix: string): IndexTemplateSpec {
  return {
    name: `${prefix}-calls`,
    indexPatterns: [callsIndex(prefix)],
    priority: TEMPLATE_PRIORITY,
    settings: { 'index.number_of_shards': 1, 'index.auto_expand_replicas': '0-1' },
    mappings: { dynamic: false, properties: CALL_PROPERTIES },
    meta: { managed_by: 'opensips-qbl', schema_version: SCHEMA_VERSION },
  };
}

/**
 * A monthly index is deleted this long after its creation (normally its month's first
 * document). The extra 31 days keep every document of the month at least `retentionDays`.
 */
export function retentionPolicy(prefix: string, retentionDays: number): LifecyclePolicySpec {
  return {
    name: lifecyclePolicyName(prefix),
    indexPatterns: [indexPattern(prefix, 'cdrs'), indexPattern(prefix, 'events')],
    deleteAfterDays: retentionDays + 31,
  };
}
