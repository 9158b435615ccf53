/**
 * report.html (pure): one self-contained page — totals of both sides, a per-day chart of billed
 * minutes (theirs vs ours), the breakdown by class, the top disputed calls and each one's
 * evidence (SIP ladder, CDR, raw events). Inline CSS, SVG and a few lines of JS; no network.
 */
import { CLASSES, type MatchClass, type ReconcileRecord } from './classify';
import type { Summary } from './summary';
import { escapeHtml, evidenceSection, htmlPage, type EvidenceInput } from '../evidence/render';

export interface ReportCall {
  readonly record: ReconcileRecord;
  /** Null when the call has no CDR of ours (unknown_call). */
  readonly evidence: EvidenceInput | null;
}

const CLASS_COLOURS: Readonly<Record<MatchClass, string>> = {
  match: '#1b7f3b', within_tolerance: '#6fb36f', overbilled: '#b3261e', underbilled: '#e0912f', not_answered: '#8e2c88',
  unknown_call: '#5a5a5a', duplicate: '#c2185b', not_billed: '#1f5fa8',
};

const fmt = (value: number | null | undefined, digits = 2): string =>
  value === null || value === undefined ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function card(label: string, value: string, cls = ''): string {
  return `<div class="card"><div class="v ${cls}">${escapeHtml(value)}</div><div class="l">${escapeHtml(label)}</div></div>`;
}

/** Grouped bars per day: their billed minutes beside ours. */
export function dailyChart(days: Summary['days']): string {
  const width = 1000;
  const height = 300;
  const left = 70;
  const bottom = 60;
  const plotW = width - left - 20;
  const top = 34;
  const plotH = height - bottom - top;
  const max = Math.max(1, ...days.flatMap((d) => [d.billed_minutes.carrier, d.billed_minutes.ours]));
  const slot = days.length === 0 ? plotW : plotW / days.length;
  const barW = Math.max(2, Math.min(28, slot / 2 - 2));
  const y = (value: number) => top + plotH - (value / max) * plotH;
  const parts = [`<svg id="daily-chart" class="chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Billed minutes per day, theirs and ours" font-family="system-ui, sans-serif" font-size="11">`];
  for (let i = 0; i <= 4; i += 1) {
    const value = (max * i) / 4;
    parts.push(`<line x1="${left}" x2="${width - 20}" y1="${y(value)}" y2="${y(value)}" stroke="#eee"/><text x="${left - 6}" y="${y(value) + 4}" text-anchor="end" fill="#555">${fmt(value, 0)}</text>`);
  }
  days.forEach((day, index) => {
    const x = left + index * slot + slot / 2;
    const bar = (side: 'carrier' | 'ours', value: number, dx: number, colour: string) =>
      `<rect class="bar" data-side="${side}" data-day="${day.day}" x="${x + dx}" y="${y(value)}" width="${barW}" height="${Math.max(0, top + plotH - y(value))}" fill="${colour}"><title>${day.day} ${side === 'carrier' ? 'theirs' : 'ours'}: ${fmt(value)} min</title></rect>`;
    parts.push(bar('carrier', day.billed_minutes.carrier, -barW - 1, '#b3261e'), bar('ours', day.billed_minutes.ours, 1, '#1f5fa8'));
    parts.push(`<text x="${x}" y="${height - bottom + 16}" text-anchor="end" transform="rotate(-45 ${x} ${height - bottom + 16})" fill="#333">${day.day}</text>`);
  });
  parts.push(`<rect x="${left}" y="6" width="10" height="10" fill="#b3261e"/><text x="${left + 14}" y="15">theirs (billed minutes)</text>`);
  parts.push(`<rect x="${left + 170}" y="6" width="10" height="10" fill="#1f5fa8"/><text x="${left + 184}" y="15">ours at their increment</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function classBreakdown(summary: Summary): string {
  const total = CLASSES.reduce((sum, c) => sum + summary.counts[c], 0) || 1;
  const rows = CLASSES.map((c) => {
    const count = summary.counts[c];
    const pct = (count / total) * 100;
    return `<tr data-class="${c}"><td><span style="display:inline-block;width:10px;height:10px;background:${CLASS_COLOURS[c]}"></span> ${c}</td>`
      + `<td class="num">${count.toLocaleString('en-US')}</td><td class="num">${pct.toFixed(2)} %</td>`
      + `<td><svg width="300" height="12"><rect class="class-bar" width="${Math.max(count > 0 ? 1 : 0, pct * 3)}" height="12" fill="${CLASS_COLOURS[c]}"/></svg></td></tr>`;
  });
  return `<table id="classes"><tr><th>class</th><th>rows / calls</th><th>share</th><th></th></tr>${rows.join('')}</table>`;
}

function topTable(calls: readonly ReportCall[], byMoney: boolean): string {
  if (calls.length === 0) return '<p>No disputed calls.</p>';
  const rows = calls.map((call, index) => {
    const r = call.record;
    const target = call.evidence === null ? '' : ` class="clickable" data-target="call-${index}"`;
    return `<tr${target}><td class="num">${r.row}</td><td>${escapeHtml(r.class)}</td><td>${escapeHtml(r.carrier_start ?? '')}</td>`
      + `<td>${escapeHtml(r.caller ?? '')}</td><td>${escapeHtml(r.callee ?? '')}</td>`
      + `<td class="num">${fmt(r.carrier_billed_s, 0)}</td><td class="num">${fmt(r.our_billed_s, 0)}</td><td class="num">${fmt(r.delta_billed_s, 0)}</td>`
      + `<td class="num">${r.delta_cost === null ? '–' : fmt(r.delta_cost, 4)}</td><td>${escapeHtml(r.reason)}</td></tr>`;
  });
  return `<p>The largest by ${byMoney ? 'money' : 'billed time'}; click a row for its evidence.</p><table id="top-calls"><tr><th>row</th><th>class</th><th>their start (UTC)</th><th>caller</th><th>callee</th>`
    + `<th>their billed s</th><th>our billed s</th><th>Δ s</th><th>Δ money</th><th>reason</th></tr>${rows.join('')}</table>`;
}

const SCRIPT = `document.querySelectorAll('tr.clickable').forEach(function (row) {
  row.addEventListener('click', function () {
    var target = document.getElementById(row.getAttribute('data-target'));
    if (target) { target.querySelectorAll('details').forEach(function (d) { d.open = true; }); target.scrollIntoView({ behavior: 'smooth' }); }
  });
});`;

export function reportHtml(summary: Summary, calls: readonly ReportCall[], byMoney: boolean): string {
  const s = summary as Summary & { file: string; settings: Record<string, unknown> };
  const diff = summary.billed_minutes.difference;
  const pct = summary.billed_minutes.difference_pct;
  const cards = [
    card('their billed minutes', fmt(summary.billed_minutes.carrier)),
    card('our billed minutes (at their increment)', fmt(summary.billed_minutes.ours)),
    card('difference (minutes)', `${diff > 0 ? '+' : ''}${fmt(diff)}`, diff > 0 ? 'bad' : 'good'),
    card('difference (% of their invoice)', pct === null ? '–' : `${pct > 0 ? '+' : ''}${pct.toFixed(2)} %`, summary.dispute.recommended ? 'bad' : 'good'),
  ];
  if (summary.money !== null) {
    cards.push(card('their money', fmt(summary.money.carrier)), card('our money (at their rates)', fmt(summary.money.ours)), card('money difference', `${summary.money.difference > 0 ? '+' : ''}${fmt(summary.money.difference)}`, summary.money.difference > 0 ? 'bad' : 'good'));
  }
  const verdict = summary.dispute.recommended
    ? `<p class="bad"><strong>Dispute recommended:</strong> they bill ${pct!.toFixed(2)} % more than our records support (threshold ${summary.dispute.threshold_pct} %).</p>`
    : `<p class="good">Within ${summary.dispute.threshold_pct} % of their invoice.</p>`;
  const settings = Object.entries(s.settings ?? {}).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`).join('');
  const evidence = calls.map((call, index) => (call.evidence === null ? '' : evidenceSection(call.evidence, `Row ${call.record.row}: ${call.record.class} — ${call.record.reason}`, `call-${index}`))).join('');
  const bad = summary.bad_rows.count === 0 ? '<p>None.</p>'
    : `<p>${summary.bad_rows.count} rows could not be read (all are in bad-rows.csv).</p><table id="bad-rows"><tr><th>row</th><th>reason</th><th>detail</th></tr>${summary.bad_rows.listed.slice(0, 100).map((b) => `<tr><td class="num">${b.row}</td><td>${escapeHtml(b.reason)}</td><td>${escapeHtml(b.detail)}</td></tr>`).join('')}</table>`;
  const body = `<h1>Reconciliation of ${escapeHtml(String(s.file ?? ''))}</h1>${verdict}<div class="cards">${cards.join('')}</div>`
    + `<h2>Billed minutes per day</h2>${dailyChart(summary.days)}`
    + `<h2>By class</h2>${classBreakdown(summary)}`
    + `<h2>Top disputed calls</h2>${topTable(calls, byMoney)}`
    + `<h2>Evidence</h2>${evidence === '' ? '<p>No disputed call of ours to show.</p>' : evidence}`
    + `<h2>Rows that could not be read</h2>${bad}`
    + `<h2>Settings</h2><table id="settings">${settings}</table>`;
  return htmlPage(`Reconciliation: ${String(s.file ?? '')}`, body, SCRIPT);
}
