/** The search-engine store's options (Elasticsearch or OpenSearch). */
export interface SearchConfig {
  readonly engine: 'elasticsearch' | 'opensearch';
  readonly url: string;
  readonly urlForLogs: string;
  readonly apiKey?: string;
  readonly username?: string;
  readonly password?: string;
  readonly caFile?: string;
  /** Amazon OpenSearch Service: SigV4 signing in this region. */
  readonly awsRegion?: string;
  readonly indexPrefix: string;
  readonly retentionDays: number;
  /** Closed calls' documents not written for this many days are deleted (0 or absent: kept). */
  readonly callsRetentionDays?: number;
  readonly bulkMaxDocs: number;
  readonly bulkConcurrency: number;
}
