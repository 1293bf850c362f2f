import { tableName } from '../pricing/source.js';
import type { TableSource } from '../pricing/types.js';
import type { GroupBy, ReportRow } from '../report.js';
import { formatCount, formatUsd } from './format.js';
import { painter, table } from './style.js';

const HEAD: Record<string, string> = { day: 'Day', model: 'Model', provider: 'Provider', command: 'Command' };

/**
 * The report table, a total row, and (unless `chart` is false) a bar chart of cost per group.
 * `zone` names the time zone the days are in. With `repriced` (report --reprice), the cost is the
 * cost at that table, beside what was recorded and the difference, and its notes follow.
 */
export function renderReport(rows: ReportRow[], total: ReportRow, by: GroupBy, colour: boolean, chart: boolean, zone = 'UTC', repriced?: { source: TableSource; notes: string[] }): string {
  const repricedWith = repriced?.source;
  const c = painter(colour);
  const line = (r: ReportRow, label: string) => [
    label,
    r.failed ? `${formatCount(r.requests)} (${formatCount(r.failed)} failed)` : formatCount(r.requests),
    withPart(r.input_tokens, r.cached_tokens, 'cached'),
    withPart(r.output_tokens, r.reasoning_tokens, 'reasoning'),
    formatCount(r.total_tokens),
    costText(r),
    ...(repricedWith ? [recordedText(r), formatSignedUsd(r.reprice_difference_usd ?? 0)] : []),
    shares(r),
  ];
  const body = rows.map((r) => line(r, r.key));
  body.push(line(total, c.bold('Total')).map((cell, i) => (i === 0 ? cell : c.bold(cell))));
  const costHead = repricedWith ? ['Cost now', 'Recorded', 'Difference'] : ['Cost'];
  const head = [by === 'day' ? `${HEAD[by]} (${zone})` : HEAD[by] ?? `Tag ${by.slice(4)}`, 'Requests', 'Input (cached)', 'Output (reasoning)', 'Total tokens', ...costHead, 'Estimated / unpriced'];
  let out = table(head, body, colour, ['left', ...head.slice(1).map(() => 'right' as const)]) + '\n';
  if (chart && rows.length) out += '\n' + costChart(rows, colour) + '\n';
  if (total.unpriced_requests) out += `Cost covers priced calls only: ${formatCount(total.unpriced_requests)} had no price.\n`;
  if (repricedWith) {
    const newly = total.newly_priced_requests ?? 0;
    out += `Re-priced with ${tableName(repricedWith)}${repricedWith.user_files?.length ? `, with ${repricedWith.user_files.join(', ')} on top` : ''}; Recorded is what the ledger says each call cost when it ran.\n`;
    if (newly) out += `${formatCount(newly)} call${newly === 1 ? ' was' : 's were'} unpriced when recorded and ${newly === 1 ? 'has' : 'have'} a price now.\n`;
    for (const note of repriced?.notes ?? []) out += `cost note: ${note}\n`;
  }
  return out;
}

function recordedText(r: ReportRow): string {
  const unpriced = r.recorded_unpriced_requests ?? 0;
  const usd = formatUsd(r.recorded_cost_usd ?? 0);
  if (unpriced === 0) return usd;
  return unpriced === r.requests ? 'unknown' : `${usd} + unknown`;
}

function formatSignedUsd(usd: number): string {
  return usd > 0 ? `+${formatUsd(usd)}` : formatUsd(usd);
}

function withPart(n: number, part: number, name: string): string {
  return part ? `${formatCount(n)} (${formatCount(part)} ${name})` : formatCount(n);
}

function costText(r: ReportRow): string {
  if (r.unpriced_requests === 0) return formatUsd(r.cost_usd);
  return r.unpriced_requests === r.requests ? 'unknown' : `${formatUsd(r.cost_usd)} + unknown`;
}

function shares(r: ReportRow): string {
  const pct = (x: number) => (x === 0 ? '0%' : x < 0.001 ? '<0.1%' : `${(x * 100).toFixed(1).replace(/\.0$/, '')}%`);
  return `${pct(r.estimated_share)} / ${pct(r.unpriced_share)}`;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** Horizontal bars of cost per group, in eighths of a character for a smooth scale. */
export function costChart(rows: ReportRow[], colour: boolean, width = 40): string {
  const c = painter(colour);
  const max = Math.max(...rows.map((r) => r.cost_usd));
  const labelWidth = Math.max(...rows.map((r) => r.key.length));
  return rows
    .map((r) => {
      const eighths = max > 0 ? Math.round((r.cost_usd / max) * width * 8) : 0;
      const bar = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
      return `${r.key.padEnd(labelWidth)} ${c.cyan(bar.padEnd(width))} ${formatUsd(r.cost_usd)}`;
    })
    .join('\n');
}

/** CSV with a header row; fields quoted where they need it. */
export function reportCsv(rows: ReportRow[], by: GroupBy): string {
  const cols: (keyof ReportRow)[] = ['requests', 'ok', 'failed', 'input_tokens', 'cached_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens', 'cost_usd', 'estimated_share', 'unpriced_share'];
  // --reprice: what was recorded, and the difference.
  if (rows[0]?.recorded_cost_usd !== undefined) cols.push('recorded_cost_usd', 'reprice_difference_usd', 'recorded_unpriced_requests', 'newly_priced_requests');
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [[by, ...cols].join(','), ...rows.map((r) => [quote(r.key), ...cols.map((k) => String(r[k]))].join(','))].join('\n') + '\n';
}
