/**
 * The evidence of one call, rendered (pure): the SIP ladder as SVG and as text, and an HTML
 * section with the ladder, the CDR and the raw event bodies. Self-contained: no network, no
 * external fonts or scripts.
 */
import { CDR_FIELDS, type Cdr } from '../../correlators/cdr';
import type { CdrExtras } from '../../correlators/cdr';
import type { EventRow } from '../stores/store';
import { formatOffset, type Ladder, type LadderArrow, type Party } from './ladder';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const COLUMN_X: Readonly<Record<Party | 'proxy', number>> = { caller: 150, proxy: 420, callee: 690 };
const WIDTH = 840;
const TOP = 60;
const ROW = 34;

function arrowColour(arrow: LadderArrow): string {
  if (arrow.request) return arrow.method === 'BYE' ? '#7a3e9d' : '#1f5fa8';
  if (arrow.code !== null && arrow.code >= 300) return '#b3261e';
  if (arrow.code !== null && arrow.code >= 200) return '#1b7f3b';
  return '#6b6b6b';
}

/** The ladder as an SVG element; `standalone` adds the XML namespace for a .svg file. */
export function ladderSvg(ladder: Ladder, standalone = false): string {
  const rows = ladder.arrows.length + ladder.notes.length;
  const height = TOP + Math.max(rows, 1) * ROW + 30;
  const parts: string[] = [];
  parts.push(`<svg class="ladder" ${standalone ? 'xmlns="http://www.w3.org/2000/svg" ' : ''}viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="SIP ladder of ${escapeHtml(ladder.callId)}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push('<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>');
  for (const [party, x] of Object.entries(COLUMN_X)) {
    parts.push(`<g class="lifeline" data-party="${party}"><text x="${x}" y="22" text-anchor="middle" font-weight="bold" font-size="14">${party}</text>`
      + `<line x1="${x}" y1="32" x2="${x}" y2="${height - 10}" stroke="#999" stroke-dasharray="4 3"/></g>`);
  }
  const items = [
    ...ladder.arrows.map((arrow) => ({ timeUs: arrow.timeUs, arrow })),
    ...ladder.notes.map((note) => ({ timeUs: note.timeUs, note })),
  ].sort((a, b) => a.timeUs - b.timeUs);
  items.forEach((item, index) => {
    const y = TOP + index * ROW + 12;
    if ('note' in item && item.note) {
      const note = item.note;
      parts.push(`<g class="note"><text x="${COLUMN_X.proxy}" y="${y + 4}" text-anchor="middle" fill="#555" font-style="italic">${escapeHtml(note.text)}</text>`
        + `<text x="8" y="${y + 4}" fill="#555">${escapeHtml(formatOffset(note.offsetUs))}</text></g>`);
      return;
    }
    const arrow = (item as { arrow: LadderArrow }).arrow;
    const colour = arrowColour(arrow);
    const fromX = COLUMN_X[arrow.from];
    const toX = COLUMN_X[arrow.to];
    const dash = arrow.repeat ? ' stroke-dasharray="6 4"' : '';
    const title = `${arrow.label} — ${arrow.time} (${formatOffset(arrow.offsetUs)})${arrow.repeat ? ', retransmission' : ''}`;
    parts.push(`<g class="arrow" data-method="${arrow.method}" data-kind="${arrow.request ? 'request' : 'reply'}"${arrow.code === null ? '' : ` data-code="${arrow.code}"`} data-time="${arrow.time}">`
      + `<title>${escapeHtml(title)}</title>`
      + `<line x1="${fromX}" y1="${y}" x2="${COLUMN_X.proxy}" y2="${y}" stroke="${colour}" stroke-width="2"${dash} marker-end="url(#arrowhead)"/>`
      + `<line x1="${COLUMN_X.proxy}" y1="${y}" x2="${toX}" y2="${y}" stroke="${colour}" stroke-width="2"${dash} marker-end="url(#arrowhead)"/>`
      + `<text x="${(fromX + COLUMN_X.proxy) / 2}" y="${y - 5}" text-anchor="middle" fill="${colour}">${escapeHtml(arrow.label)}</text>`
      + `<text x="8" y="${y + 4}" fill="#333">${escapeHtml(formatOffset(arrow.offsetUs))}</text>`
      + `<text x="${WIDTH - 8}" y="${y + 4}" text-anchor="end" fill="#777" font-size="10">${escapeHtml(arrow.time.slice(11))}</text>`
      + '</g>');
  });
  if (items.length === 0) parts.push(`<text x="${COLUMN_X.proxy}" y="${TOP + 12}" text-anchor="middle" fill="#777">no stored events</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** The ladder for a terminal: one line per message, µs times, arrows between the three columns. */
export function ladderText(ladder: Ladder): string {
  const lines = [`call_id ${ladder.callId}`, `${'time (UTC)'.padEnd(28)} ${'since first'.padEnd(16)} caller${' '.repeat(10)}proxy${' '.repeat(9)}callee`];
  const items = [
    ...ladder.arrows.map((arrow) => ({ timeUs: arrow.timeUs, arrow })),
    ...ladder.notes.map((note) => ({ timeUs: note.timeUs, note })),
  ].sort((a, b) => a.timeUs - b.timeUs);
  for (const item of items) {
    if ('note' in item && item.note) {
      lines.push(`${item.note.time.padEnd(28)} ${formatOffset(item.note.offsetUs).padEnd(16)} ${''.padEnd(18)}[${item.note.text}]`);
      continue;
    }
    const arrow = (item as { arrow: LadderArrow }).arrow;
    const label = `${arrow.label}${arrow.repeat ? ' (again)' : ''}`;
    const span = 34;
    const body = label.length + 2 >= span ? label : `${'─'.repeat(Math.floor((span - label.length) / 2) - 1)} ${label} ${'─'.repeat(Math.ceil((span - label.length) / 2) - 1)}`;
    const drawn = arrow.from === 'caller' ? `|${body.slice(0, span - 1)}▶|` : `|◀${body.slice(1, span)}|`;
    lines.push(`${arrow.time.padEnd(28)} ${formatOffset(arrow.offsetUs).padEnd(16)} ${drawn}`);
  }
  if (items.length === 0) lines.push('(no stored events)');
  return `${lines.join('\n')}\n`;
}

type Cell = string | number | boolean | null;

/** The CDR as a two-column table, with the extras a dispute needs. */
export function cdrTable(cdr: Cdr, extras: CdrExtras | null): string {
  const rows: Array<[string, Cell]> = CDR_FIELDS.map((field) => [field, cdr[field]]);
  if (extras !== null) rows.push(['caller_e164', extras.caller_e164], ['callee_e164', extras.callee_e164], ['acc_duration_ms', extras.acc_duration_ms], ['acc_mismatch', extras.acc_mismatch]);
  return `<table class="cdr">${rows.map(([name, value]) => `<tr><th>${name}</th><td>${value === null ? '<span class="null">null</span>' : escapeHtml(String(value))}</td></tr>`).join('')}</table>`;
}

export function rawEvents(events: readonly EventRow[]): string {
  if (events.length === 0) return '<p class="null">no raw events stored for this call</p>';
  return `<ol class="raw">${events.map((event) => `<li><div class="meta">${escapeHtml(event.time)} · ${escapeHtml(event.event_name)} · ${escapeHtml(event.routing_key)} · id ${escapeHtml(event.id)}</div><pre>${escapeHtml(prettyBody(event.body))}</pre></li>`).join('')}</ol>`;
}

/** JSON bodies indented for reading; the 2.x text layout as it is. */
function prettyBody(body: string): string {
  if (!body.trimStart().startsWith('{')) return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

export interface EvidenceInput {
  readonly callId: string;
  readonly cdr: Cdr | null;
  readonly extras: CdrExtras | null;
  readonly events: readonly EventRow[];
  readonly ladder: Ladder;
}

/** One call's evidence as an HTML section (used by report.html and by `qbl evidence`). */
export function evidenceSection(input: EvidenceInput, heading: string, id = 'evidence'): string {
  return `<section class="evidence" id="${escapeHtml(id)}"><h3>${escapeHtml(heading)}</h3>`
    + `<div class="ladder-box">${ladderSvg(input.ladder)}</div>`
    + '<details open><summary>CDR</summary>'
    + `${input.cdr === null ? '<p class="null">no CDR stored for this call</p>' : cdrTable(input.cdr, input.extras)}</details>`
    + `<details><summary>Raw events (${input.events.length})</summary>${rawEvents(input.events)}</details>`
    + '</section>';
}

export const PAGE_STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1d1d1f;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f5f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cdr th{width:160px}.null{color:#888}pre{background:#f7f7f9;padding:8px;overflow-x:auto;font-size:12px}
ol.raw{padding-left:20px}.meta{font-size:12px;color:#555}.ladder-box{overflow-x:auto}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:150px}
.card .v{font-size:20px;font-weight:600}.card .l{font-size:12px;color:#555}.bad{color:#b3261e}.good{color:#1b7f3b}
tr.clickable{cursor:pointer}tr.clickable:hover{background:#f0f4fa}`;

/** A whole HTML page around `body` (the evidence page, or the report). */
export function htmlPage(title: string, body: string, script = ''): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
    + `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`
    + `<title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head><body>${body}${script === '' ? '' : `<script>${script}</script>`}</body></html>\n`;
}

export function evidencePage(input: EvidenceInput): string {
  return htmlPage(`Evidence: ${input.callId}`, `<h1>Evidence for call ${escapeHtml(input.callId)}</h1>${evidenceSection(input, 'SIP ladder, CDR and raw events')}`);
}
