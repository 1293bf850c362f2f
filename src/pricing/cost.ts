import type { Usage } from '../usage.js';
import type { ModelPrice, Tiered } from './types.js';

export type PartKey = 'input' | 'cache_read' | 'cache_write' | 'cache_write_1h' | 'output' | 'reasoning' | 'web_search' | 'requests';

export interface CostPart {
  part: PartKey;
  /** Tokens billed in this part (requests for 'requests', searches for 'web_search'). */
  quantity: number;
  /** Dollars per 1M tokens (per 1K requests or searches for 'requests' and 'web_search'), after any tier; null when unpriced. */
  rate: number | null;
  /** quantity x rate; null when unpriced. Full precision: round only when rendering. */
  usd: number | null;
}

export interface Cost {
  parts: CostPart[];
  /** The total, or null when any part with tokens has no price: never a silent $0. */
  usd: number | null;
  /** The sum of the parts that are priced. */
  knownUsd: number;
  unpriced: PartKey[];
}

// Which price key bills each part, and per how many units.
const PRICE_KEY: Record<PartKey, { key: string; per: number }> = {
  input: { key: 'input_mtok', per: 1e6 },
  cache_read: { key: 'cache_read_mtok', per: 1e6 },
  cache_write: { key: 'cache_write_mtok', per: 1e6 },
  cache_write_1h: { key: 'cache_write_1h_mtok', per: 1e6 },
  output: { key: 'output_mtok', per: 1e6 },
  reasoning: { key: 'output_reasoning_mtok', per: 1e6 },
  web_search: { key: 'web_searches_kcount', per: 1e3 },
  requests: { key: 'requests_kcount', per: 1e3 },
};

/** Every part, in the order a cost lists them. */
const PARTS = Object.keys(PRICE_KEY) as PartKey[];

/** Whether the model prices a part. */
function has(prices: ModelPrice, part: PartKey): boolean {
  return prices[PRICE_KEY[part].key] !== undefined;
}

/**
 * Prices one call's usage, with @pydantic/genai-prices' semantics:
 * - usage is split into disjoint parts, and a part only splits off when the model prices it:
 *   cache reads of a model without a cache-read price bill at the input rate, reasoning tokens
 *   bill at the output rate unless the model has a reasoning price;
 * - a tiered price applies to the whole part, at the tier the request's total input tokens
 *   exceed;
 * - a per-request price bills `requests` requests;
 * - web searches (a server-side tool) bill per search at `web_searches_kcount`, a part of their
 *   own; a model without that price leaves the part unpriced, so the total is unknown.
 * Pure and exact: no I/O, no rounding.
 */
export function costOf(usage: Usage, prices: ModelPrice, requests = 1): Cost {
  const read = usage.input_token_details.cache_read;
  const write = usage.input_token_details.cache_creation;
  const write1h = usage.input_token_details.cache_creation_1h ?? 0;
  const reasoning = usage.output_token_details.reasoning;
  const hasRead = has(prices, 'cache_read');
  const hasWrite = has(prices, 'cache_write');
  const hasWrite1h = has(prices, 'cache_write_1h');
  const hasReasoning = has(prices, 'reasoning');

  // The quantity of each part, in PARTS' order: one array of numbers (a proxy prices thousands of calls a second).
  const quantities = [
    usage.input_tokens - (hasRead ? read : 0) - (hasWrite ? write : 0),
    hasRead ? read : 0,
    hasWrite ? write - (hasWrite1h ? write1h : 0) : 0,
    hasWrite && hasWrite1h ? write1h : 0,
    usage.output_tokens - (hasReasoning ? reasoning : 0),
    hasReasoning ? reasoning : 0,
    usage.web_search_requests ?? 0,
    has(prices, 'requests') ? requests : 0,
  ];
  for (let i = 0; i < PARTS.length; i++) {
    const quantity = quantities[i] as number;
    if (quantity < 0 || !Number.isFinite(quantity)) {
      throw new RangeError(`invalid usage: the ${(PARTS[i] as PartKey).replace('_', ' ')} part comes to ${quantity} (cache or reasoning tokens exceed their total)`);
    }
  }

  const parts: CostPart[] = [];
  const unpriced: PartKey[] = [];
  let knownUsd = 0;
  for (let i = 0; i < PARTS.length; i++) {
    const part = PARTS[i] as PartKey;
    const quantity = quantities[i] as number;
    if (quantity === 0 && part !== 'input') continue;
    const { key, per } = PRICE_KEY[part];
    const price = prices[key];
    if (quantity === 0 && price === undefined) continue;
    if (price === undefined) {
      unpriced.push(part);
      parts.push({ part, quantity, rate: null, usd: null });
      continue;
    }
    const rate = rateFor(price, usage.input_tokens);
    const usd = (rate * quantity) / per;
    knownUsd += usd;
    parts.push({ part, quantity, rate, usd });
  }
  return { parts, usd: unpriced.length ? null : knownUsd, knownUsd, unpriced };
}

/**
 * A dollar amount as it leaves the core (a record, a ledger line, JSON): 12 significant digits,
 * which keep every digit a price can produce and drop float noise (0.045597500000000006 is
 * 0.0455975, 0.000011999999999999999 is 0.000012). The arithmetic above keeps full precision;
 * this is applied once, where a cost is stored or printed.
 */
export function roundUsd(usd: number): number;
export function roundUsd(usd: number | null): number | null;
export function roundUsd(usd: number | null): number | null {
  return usd === null ? null : Number(usd.toPrecision(12));
}

/** The rate of a possibly tiered price for a request with `inputTokens` input tokens. */
export function rateFor(price: number | Tiered, inputTokens: number): number {
  if (typeof price === 'number') return price;
  let rate = price.base;
  for (const tier of [...price.tiers].sort((a, b) => a.start - b.start)) if (inputTokens > tier.start) rate = tier.price;
  return rate;
}
