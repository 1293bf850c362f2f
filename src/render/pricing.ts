import type { SkippedDownload } from '../pricing/table.js';
import { STALE_AFTER_DAYS, tableName } from '../pricing/source.js';
import type { TableSource } from '../pricing/types.js';
import type { PriceChange, TableDiff } from '../pricing/update.js';
import { formatCount, formatUsd } from './format.js';
import { painter } from './style.js';

/** A table as `pricing` describes it. */
export type TableSummary = TableSource & { age_days: number; providers: number; models: number };

export interface PricingStatus {
  in_use: TableSummary;
  download_file: string;
  skipped_download: SkippedDownload | null;
}

export interface PricingUpdate {
  url: string;
  bytes: number;
  sha256: string;
  downloaded: string;
  file: string;
  compared_with: TableSummary;
  diff: TableDiff;
  dropped_from_overlay: string[];
  models: number;
}

/** How many names a list shows before it says "and N more". */
const LIST_LIMIT = 20;

export function renderPricingStatus(s: PricingStatus, colour: boolean): string {
  const c = painter(colour);
  const t = s.in_use;
  const lines = [`${c.bold('Prices in use:')} ${t.origin === 'downloaded' ? 'downloaded' : 'built-in'}, ${tableName(t)}`];
  if (t.origin === 'downloaded') {
    lines.push(`  downloaded ${t.downloaded?.replace('T', ' ').slice(0, 16)} UTC, sha256 ${t.sha256?.slice(0, 16)}…, saved in ${t.file}`);
  }
  lines.push(`  ${ageText(t.age_days)}; ${formatCount(t.providers)} providers, ${formatCount(t.models)} models`);
  if (s.skipped_download) {
    const d = s.skipped_download;
    lines.push(d.why === 'older'
      ? `The downloaded table ${d.file} is not used: it is older than the built-in one (${d.detail}).`
      : `The downloaded table ${d.file} is not used: it cannot be read (${d.detail}); \`llm-usage pricing update\` writes it again.`);
  } else if (t.origin !== 'downloaded') {
    lines.push(`No downloaded table: \`llm-usage pricing update\` saves upstream's current prices in ${s.download_file}.`);
  }
  if (t.age_days > STALE_AFTER_DAYS) lines.push(`These prices are more than ${STALE_AFTER_DAYS} days old: \`llm-usage pricing update\` fetches the current ones.`);
  return lines.join('\n') + '\n';
}

function ageText(days: number): string {
  return days === 0 ? 'from today' : `${formatCount(days)} day${days === 1 ? '' : 's'} old`;
}

export function renderPricingUpdate(u: PricingUpdate, colour: boolean): string {
  const c = painter(colour);
  const { diff } = u;
  const lines = [`Downloaded ${u.url} (${formatCount(u.bytes)} bytes, sha256 ${u.sha256.slice(0, 16)}…).`];
  const against = `the table in use before (${u.compared_with.origin === 'downloaded' ? 'downloaded' : 'built-in'}, ${tableName(u.compared_with)})`;
  if (diff.added.length + diff.changed.length + diff.removed.length === 0) {
    lines.push(`${c.bold('Already current')}: the same models and prices as ${against}.`);
  } else {
    lines.push(`Against ${against}:`);
    if (diff.added.length) lines.push(`  ${c.bold(`${formatCount(diff.added.length)} model${diff.added.length === 1 ? '' : 's'} added`)}: ${limited(diff.added)}`);
    if (diff.changed.length) {
      lines.push(`  ${c.bold(`prices changed for ${formatCount(diff.changed.length)} model${diff.changed.length === 1 ? '' : 's'}`)}:`);
      for (const m of diff.changed.slice(0, LIST_LIMIT)) lines.push(`    ${m.model}: ${m.changes.length ? m.changes.map(changeText).join(', ') : 'dated prices changed (the prices in force today are the same)'}`);
      if (diff.changed.length > LIST_LIMIT) lines.push(`    and ${formatCount(diff.changed.length - LIST_LIMIT)} more`);
    }
    if (diff.removed.length) lines.push(`  ${formatCount(diff.removed.length)} model${diff.removed.length === 1 ? '' : 's'} no longer listed: ${limited(diff.removed)}`);
  }
  if (u.dropped_from_overlay.length) lines.push(`Upstream now prices ${u.dropped_from_overlay.join(', ')}: its prices replace our overlay's.`);
  lines.push(`Saved ${formatCount(u.models)} models to ${u.file}; every command uses them from now on (see \`llm-usage pricing\`).`);
  return lines.join('\n') + '\n';
}

function limited(names: string[]): string {
  const shown = names.slice(0, LIST_LIMIT).join(', ');
  return names.length > LIST_LIMIT ? `${shown} and ${formatCount(names.length - LIST_LIMIT)} more` : shown;
}

const KEY_NAMES: Record<string, string> = {
  input_mtok: 'input',
  output_mtok: 'output',
  cache_read_mtok: 'cached input',
  cache_write_mtok: 'cache write',
  cache_write_1h_mtok: 'cache write (1 h)',
  output_reasoning_mtok: 'reasoning',
  web_searches_kcount: 'web searches',
  requests_kcount: 'requests',
};

function changeText(ch: PriceChange): string {
  const per = ch.key.endsWith('_kcount') ? '/ 1K' : '/ 1M';
  const v = (x: number | null) => (x === null ? 'none' : formatUsd(x));
  return `${KEY_NAMES[ch.key] ?? ch.key} ${v(ch.from)} → ${v(ch.to)} ${per}`;
}

