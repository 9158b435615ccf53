/** `qbl evidence --call-id X [--out FILE.html|FILE.svg]`: one call's SIP ladder, CDR and raw events. */
import { writeFileSync } from 'node:fs';
import { loadConfig } from '../../config/config';
import { buildLadder } from '../../evidence/ladder';
import { evidencePage, ladderSvg, ladderText } from '../../evidence/render';
import { openCdrReader } from '../../stores/open';
import type { CliCommand } from '../command';
import { UsageError, parseFlags } from '../../flags';

const USAGE = `usage: qbl evidence --call-id ID [--out FILE.html|FILE.svg]
  --call-id ID   the SIP Call-ID (see \`qbl cdrs\`)
  --out FILE     FILE.html: a self-contained page with the SIP ladder, the CDR and the raw events;
                 FILE.svg: the ladder alone. Without --out, the ladder is printed as text.
Reads SQLITE_PATH (or the search engine when one is configured).`;

const FLAGS = {
  'call-id': { type: 'string' },
  out: { type: 'string' },
} as const;

export function parseEvidenceArgs(argv: readonly string[]): { callId: string; out: string | null } {
  const { values } = parseFlags(argv, FLAGS);
  const callId = values['call-id'];
  if (callId === undefined || callId.trim() === '') throw new UsageError('--call-id: required');
  const out = values.out ?? null;
  if (out !== null && !/\.(html?|svg)$/i.test(out)) throw new UsageError(`--out: expected a FILE.html or FILE.svg, got ${JSON.stringify(out)}`);
  return { callId, out };
}

export const command: CliCommand = {
  name: 'evidence',
  summary: 'Show one call\'s evidence: SIP ladder, CDR and raw events.',
  usage: USAGE,
  async run(argv) {
    const { callId, out } = parseEvidenceArgs(argv);
    const reader = await openCdrReader(loadConfig());
    try {
      const [events, cdrs] = await Promise.all([reader.eventsForCall(callId), reader.searchCdrs({ callId, limit: 1 })]);
      if (events.length === 0 && cdrs.length === 0) {
        process.stderr.write(`no CDR and no events for call_id ${JSON.stringify(callId)}\n`);
        return 1;
      }
      const ladder = buildLadder(callId, events);
      if (out === null) {
        process.stdout.write(ladderText(ladder));
        return 0;
      }
      const stored = cdrs[0] ?? null;
      const content = /\.svg$/i.test(out)
        ? `<?xml version="1.0" encoding="UTF-8"?>\n${ladderSvg(ladder, true)}\n`
        : evidencePage({ callId, cdr: stored?.cdr ?? null, extras: stored?.extras ?? null, events, ladder });
      writeFileSync(out, content);
      process.stdout.write(`wrote ${out} (${ladder.arrows.length} messages, ${events.length} events)\n`);
      return 0;
    } finally {
      await reader.close();
    }
  },
};
