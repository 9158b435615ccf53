/** `qbl events --call-id ID`: the raw events behind a CDR, in event-time order. */
import { loadConfig } from '../../config/config';
import { openCdrReader } from '../../stores/open';
import type { CliCommand } from '../command';
import { UsageError, parseFlags } from '../../flags';
import { EVENT_FORMATS, renderEvents, type EventFormat } from '../format';
import { oneOf } from './cdrs';
import { zoneFlag, type ShowTime } from '../local-time';

const USAGE = `usage: qbl events --call-id ID [--format table|csv|ndjson] [--tz ZONE]
  --call-id ID   the SIP Call-ID (see \`qbl cdrs\`)
  --format F     table (default), csv (safe to open in a spreadsheet, body included) or ndjson
                 (one stored event per line, body included)
  --tz ZONE      times in this zone (America/Sao_Paulo, UTC+3); stored times stay UTC
Reads SQLITE_PATH (or the search engine when one is configured).`;

const FLAGS = {
  'call-id': { type: 'string' },
  format: { type: 'string' },
  tz: { type: 'string' },
} as const;

export function parseEventsArgs(argv: readonly string[]): { callId: string; format: EventFormat; showTime: ShowTime } {
  const { values } = parseFlags(argv, FLAGS);
  const callId = values['call-id'];
  if (callId === undefined || callId.trim() === '') throw new UsageError('--call-id: required');
  return { callId, format: oneOf('format', values.format, EVENT_FORMATS, 'table'), showTime: zoneFlag(values.tz) };
}

export const command: CliCommand = {
  name: 'events',
  summary: 'List the raw events stored for one call.',
  usage: USAGE,
  async run(argv) {
    const { callId, format, showTime } = parseEventsArgs(argv);
    const reader = await openCdrReader(loadConfig());
    try {
      const rows = await reader.eventsForCall(callId);
      if (rows.length === 0) {
        process.stderr.write(`no events for call_id ${JSON.stringify(callId)}\n`);
        return 0;
      }
      process.stdout.write(renderEvents(rows, format, { showTime }));
      return 0;
    } finally {
      await reader.close();
    }
  },
};
