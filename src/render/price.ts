import type { Cost, PartKey } from '../pricing/cost.js';
import type { PricesPerMillion, Quote } from '../pricing/quote.js';
import { tableName } from '../pricing/source.js';
import type { PriceTable } from '../pricing/types.js';
import { formatCost, formatCount, formatUsd } from './format.js';
import { painter, table } from './style.js';

const PRICE_ROWS: [keyof PricesPerMillion, string][] = [
  ['input', 'Input'],
  ['cached_input', 'Cached input (read)'],
  ['cache_write', 'Cache write (5 min)'],
  ['cache_write_1h', 'Cache write (1 h)'],
  ['output', 'Output'],
];

const PART_LABEL: Record<PartKey, string> = {
  input: 'Input (uncached)',
  cache_read: 'Cached input (read)',
  cache_write: 'Cache write (5 min)',
  cache_write_1h: 'Cache write (1 h)',
  output: 'Output',
  reasoning: 'Reasoning',
  web_search: 'Web searches',
  requests: 'Requests',
};

/** One or several models side by side, then a cost breakdown per model when tokens were given. */
export function renderQuotes(quotes: Quote[], source: PriceTable['source'], colour: boolean): string {
  const rows: string[][] = [
    ['Provider', ...quotes.map((q) => q.provider)],
    ['Matched model', ...quotes.map((q) => q.matched_model + (q.via.length ? ` (${q.via.join('; ')})` : ''))],
    ['Context window', ...quotes.map((q) => (q.context_window === null ? 'unknown' : `${formatCount(q.context_window)} tokens`))],
  ];
  for (const [key, label] of PRICE_ROWS) {
    rows.push([`${label} per 1M / 1K`, ...quotes.map((q) => priceCell(q, key))]);
  }
  if (quotes.some((q) => q.per_request !== null)) {
    rows.push(['Per request', ...quotes.map((q) => (q.per_request === null ? '—' : formatUsd(q.per_request)))]);
  }
  if (quotes.some((q) => Object.keys(q.tiers).length)) rows.push(['Tiers', ...quotes.map(tierText)]);
  if (quotes.some((q) => q.price_changes.length)) {
    rows.push(['Price changes', ...quotes.map((q) => (q.price_changes.length ? `${q.price_changes.join(', ')} (current price shown)` : '—'))]);
  }
  if (quotes.some((q) => q.cost)) rows.push(['Cost', ...quotes.map((q) => (q.cost ? formatCost(q.cost.usd) : '—'))]);

  const out = [table(['', ...quotes.map((q) => q.model)], rows, colour)];
  for (const q of quotes) if (q.cost) out.push(renderBreakdown(q, q.cost, colour));
  out.push(sourceLine(source));
  return out.join('\n') + '\n';
}

function renderBreakdown(q: Quote, cost: Cost, colour: boolean): string {
  const c = painter(colour);
  const rows = cost.parts.map((p) => [
    PART_LABEL[p.part],
    formatCount(p.quantity),
    p.rate === null ? 'no price' : p.part === 'requests' || p.part === 'web_search' ? `${formatUsd(p.rate)} / 1K` : `${formatUsd(p.rate)} / 1M`,
    p.usd === null ? 'unknown' : formatUsd(p.usd),
  ]);
  const total = cost.usd === null ? `unknown (priced parts: ${formatUsd(cost.knownUsd)})` : formatUsd(cost.usd);
  rows.push([c.bold('Total'), formatCount((q.usage?.total_tokens ?? 0)), '', c.bold(total)]);
  const title = `\nCost on ${q.provider}/${q.matched_model}: tokens × rate = $`;
  return title + '\n' + table(['Part', 'Tokens', 'Rate', 'Cost'], rows, colour, ['left', 'right', 'right', 'right']);
}

/** A table of known models, for `price` without --model. */
export function renderModelList(quotes: Quote[], source: PriceTable['source'], colour: boolean): string {
  const rows = quotes.map((q) => [
    q.provider,
    q.matched_model,
    q.context_window === null ? '' : formatCount(q.context_window),
    listPrice(q, 'input'),
    listPrice(q, 'cached_input'),
    listPrice(q, 'output'),
  ]);
  const head = ['Provider', 'Model', 'Context', 'Input / 1M', 'Cached / 1M', 'Output / 1M'];
  return `${table(head, rows, colour, ['left', 'left', 'right', 'right', 'right', 'right'])}\n${quotes.length} models. ${sourceLine(source)}\n`;
}

function listPrice(q: Quote, key: keyof PricesPerMillion): string {
  const p = q.prices_per_million[key];
  if (p === null) return '—';
  return formatUsd(p) + (q.tiers[key] ? ' (tiered)' : '');
}

/** A price, or for an unpriced cache part what upstream bills it at: the input rate. */
function priceCell(q: Quote, key: keyof PricesPerMillion): string {
  const p = q.prices_per_million[key];
  const cachePart = key === 'cached_input' || key === 'cache_write' || key === 'cache_write_1h';
  if (p === null && cachePart && q.prices_per_million.input !== null) {
    return key === 'cache_write_1h' && q.prices_per_million.cache_write !== null ? '— (at the 5 min rate)' : '— (at the input rate)';
  }
  return perMillionAndK(p);
}

function perMillionAndK(p: number | null): string {
  return p === null ? '—' : `${formatUsd(p)} / ${formatUsd(p / 1000)}`;
}

function tierText(q: Quote): string {
  const parts = Object.entries(q.tiers).map(
    ([key, tiers]) => `${key} ${tiers.map((t) => `>${formatCount(t.start)}: ${formatUsd(t.price)}`).join(', ')}`,
  );
  return parts.length ? parts.join('\n') : '—';
}

export function sourceLine(source: PriceTable['source']): string {
  const user = source.user_files?.length ? `, with ${source.user_files.join(', ')} on top` : '';
  return `Prices per 1M tokens from ${tableName(source)}${user}.`;
}
