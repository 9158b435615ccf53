/**
 * A lookup's answer as JSON, written field by field: the same bytes as `JSON.stringify(answer)`
 * (a property test holds it to that), without walking a fresh object of nested objects on every
 * lookup. The listener's CPU per request is what the pipeline beside it loses (docs/performance.md).
 */
import type { LookupAnswer } from './lookup-state';

/** A string as JSON (quoted, escaped); strings from the request or the block list may hold anything. */
const text = (value: string): string => JSON.stringify(value);
const textOrNull = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));
/** As JSON.stringify writes a number: non-finite ones are null. */
const num = (value: number): string => (Number.isFinite(value) ? String(value) : 'null');
const numOrNull = (value: number | null): string => (value === null ? 'null' : num(value));

export function answerJson(answer: LookupAnswer): string {
  const { figures, burst, blocklist } = answer;
  const figuresJson = `{"window_days":${num(figures.window_days)},"calls":${num(figures.calls)},"answered":${num(figures.answered)},`
    + `"invalid":${num(figures.invalid)},"last_final_code":${numOrNull(figures.last_final_code)},"last_seen":${textOrNull(figures.last_seen)}}`;
  const burstJson = burst === null ? 'null'
    : `{"caller":${text(burst.caller)},"prefix":${text(burst.prefix)},"window_s":${num(burst.window_s)},"calls":${num(burst.calls)},`
      + `"short_or_unanswered":${num(burst.short_or_unanswered)}}`;
  const blocklistJson = blocklist === null ? 'null'
    : `{"entry":${text(blocklist.entry)},"reason":${text(blocklist.reason)},"expires_at":${textOrNull(blocklist.expires_at)}}`;
  return `{"number":${text(answer.number)},"e164":${textOrNull(answer.e164)},"verdict":${text(answer.verdict)},`
    + `"reasons":${JSON.stringify(answer.reasons)},"figures":${figuresJson},"burst":${burstJson},"blocklist":${blocklistJson}}`;
}
