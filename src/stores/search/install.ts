/**
 * Installs the retention policy and the index templates at start. Both are PUTs of the same
 * bodies, so running it again (every start, several replicas) changes nothing.
 */
import type { Logger } from '../../observability/logger';
import { StoreUnavailableError } from '../../errors';
import { SearchRequestError, type SearchEngine } from './engine';
import { indexPattern } from './documents';
import { ADDED_CDR_PROPERTIES, callsTemplate, indexTemplate, retentionPolicy } from './templates';

export interface SchemaInstall {
  readonly lifecycle: 'installed' | 'unsupported';
  readonly templates: readonly string[];
}

export async function installSchema(
  engine: SearchEngine, prefix: string, retentionDays: number, logger?: Logger,
): Promise<SchemaInstall> {
  try {
    const policy = retentionPolicy(prefix, retentionDays);
    const lifecycle = await engine.putLifecyclePolicy(policy);
    if (lifecycle.status === 'unsupported') {
      logger?.warn({ engine: engine.kind, policy: policy.name, reason: lifecycle.reason },
        'search engine has no index lifecycle management: indices will not be deleted after QBL_RETENTION_DAYS');
    }
    const attached = lifecycle.status === 'installed' ? policy.name : undefined;
    const templates = [];
    for (const kind of ['cdrs', 'events'] as const) {
      const template = indexTemplate(prefix, kind, attached);
      await engine.putIndexTemplate(template);
      templates.push(template.name);
    }
    const calls = callsTemplate(prefix);
    await engine.putIndexTemplate(calls);
    templates.push(calls.name);
    // The indices created before a field was added (this month's, at least) get it too. An old
    // index that refuses (a write block) only lacks a field new CDRs rarely reach: say so, go on.
    try {
      await engine.putMapping(indexPattern(prefix, 'cdrs'), ADDED_CDR_PROPERTIES);
    } catch (error) {
      if (!(error instanceof SearchRequestError) || error.transient) throw error;
      logger?.warn({ engine: engine.kind, reason: error.message, fields: Object.keys(ADDED_CDR_PROPERTIES) },
        'could not add new fields to existing CDR indices; indices created from now on have them');
    }
    logger?.info({ engine: engine.kind, templates, lifecycle: lifecycle.status }, 'search index templates installed');
    return { lifecycle: lifecycle.status, templates };
  } catch (error) {
    if (error instanceof SearchRequestError && error.transient) {
      throw new StoreUnavailableError(`cannot install index templates: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
