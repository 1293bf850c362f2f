import { makeUsage, type Usage } from '../usage.js';
import { costOf, type Cost } from './cost.js';
import type { Resolved } from './resolve.js';
import { priceAt, priceChanges } from './table.js';
import type { ModelPrice, Tiered } from './types.js';

/** Prices of one model, per 1M tokens (null where the model has no such price). */
export interface PricesPerMillion {
  input: number | null;
  cached_input: number | null;
  cache_write: number | null;
  cache_write_1h: number | null;
  output: number | null;
}

/** Everything `price` shows about one model: a plain object, rendered as a table or JSON. */
export interface Quote {
  model: string;
  provider: string;
  provider_name: string;
  matched_model: string;
  model_name: string | null;
  via: string[];
  context_window: number | null;
  prices_per_million: PricesPerMillion;
  /** Per-request fee in dollars, where the model has one. */
  per_request: number | null;
  /** Tiered prices by part: above `start` input tokens the whole part bills at `price`. */
  tiers: Partial<Record<keyof PricesPerMillion, { start: number; price: number }[]>>;
  price_changes: string[];
  price_comments: string | null;
  usage?: Usage;
  cost?: Cost;
}

const KEYS: [keyof PricesPerMillion, string][] = [
  ['input', 'input_mtok'],
  ['cached_input', 'cache_read_mtok'],
  ['cache_write', 'cache_write_mtok'],
  ['cache_write_1h', 'cache_write_1h_mtok'],
  ['output', 'output_mtok'],
];

export function quoteFor(found: Resolved, usage?: Usage, when: Date = new Date()): Quote {
  const prices: ModelPrice = priceAt(found.model, when);
  const perMillion = {} as PricesPerMillion;
  const tiers: Quote['tiers'] = {};
  for (const [name, key] of KEYS) {
    const p = prices[key];
    perMillion[name] = p === undefined ? null : typeof p === 'number' ? p : p.base;
    if (p !== undefined && typeof p !== 'number' && p.tiers.length) tiers[name] = (p as Tiered).tiers;
  }
  const perK = prices.requests_kcount;
  const quote: Quote = {
    model: found.asked,
    provider: found.provider.id,
    provider_name: found.provider.name,
    matched_model: found.model.id,
    model_name: found.model.name ?? null,
    via: found.via,
    context_window: found.model.context_window ?? null,
    prices_per_million: perMillion,
    per_request: typeof perK === 'number' ? perK / 1000 : null,
    tiers,
    price_changes: priceChanges(found.model),
    price_comments: found.model.price_comments ?? null,
  };
  if (usage) {
    quote.usage = usage;
    quote.cost = costOf(usage, prices);
  }
  return quote;
}

/** Token counts as `price` takes them: input counts all prompt tokens, cached ones included. */
export interface TokenCounts {
  input?: number;
  output?: number;
  cached?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  reasoning?: number;
}

export function hasTokenCounts(t: TokenCounts): boolean {
  return [t.input, t.output, t.cached, t.cacheWrite, t.cacheWrite1h, t.reasoning].some((v) => v !== undefined);
}

/** The usage record for given counts, or a description of why they cannot be one. */
export function usageFromCounts(t: TokenCounts): Usage | string {
  const input = t.input ?? 0;
  const output = t.output ?? 0;
  const cached = t.cached ?? 0;
  const write = t.cacheWrite ?? t.cacheWrite1h ?? 0;
  if (cached + write > input) {
    return `--cached-tokens plus --cache-write-tokens (${cached + write}) exceed --input-tokens (${input}): input tokens count every prompt token, cached and cache-write ones included`;
  }
  if ((t.cacheWrite1h ?? 0) > write) return `--cache-write-1h-tokens exceeds --cache-write-tokens`;
  if ((t.reasoning ?? 0) > output) return `--reasoning-tokens (${t.reasoning}) exceed --output-tokens (${output}): output tokens include reasoning tokens`;
  return makeUsage({ input, output, cacheRead: cached, cacheCreation: write, cacheCreation1h: t.cacheWrite1h, reasoning: t.reasoning });
}
