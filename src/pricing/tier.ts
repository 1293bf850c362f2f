import type { Usage } from '../usage.js';
import { costOf, type Cost } from './cost.js';
import type { Resolved } from './resolve.js';
import { priceAt } from './table.js';
import type { ModelInfo, ModelPrice } from './types.js';

/**
 * The tiers that bill at a model's own (standard) prices: OpenAI's `default` (and `auto`, which a
 * request asks for and a reply never reports), Anthropic's `standard`.
 */
const STANDARD_TIERS = new Set(['default', 'auto', 'standard']);

/** The prices a call is billed at, and what to say when its tier could not be priced as such. */
export interface TierPrices {
  prices: ModelPrice;
  /** The price entry used: the model's own, or its tier entry (`gpt-5@flex`). */
  model: ModelInfo;
  /** Set when the call ran at a tier the table has no price for: it is priced at standard rates. */
  note: string | null;
}

/**
 * The prices for a call served at `tier`. A tier's prices are a model entry of the same provider
 * whose id is the model's id, "@" and the tier (`gpt-5@flex`, `claude-sonnet-4-5@priority`), as
 * the overlay or a --pricing file gives them; upstream's schema has no tiers. Where there is none,
 * the call is priced at the model's standard prices, and the note says so (never silently).
 */
export function pricesForTier(found: Pick<Resolved, 'provider' | 'model'>, tier: string | undefined, when?: Date): TierPrices {
  const standard = { prices: priceAt(found.model, when), model: found.model, note: null };
  if (!tier || STANDARD_TIERS.has(tier.toLowerCase())) return standard;
  const id = `${found.model.id}@${tier.toLowerCase()}`;
  const entry = found.provider.models.find((m) => m.id.toLowerCase() === id);
  if (entry) return { prices: priceAt(entry, when), model: entry, note: null };
  return { ...standard, note: `${found.provider.id}/${found.model.id} ran at the "${tier}" service tier, which the price table has no price for: priced at standard rates` };
}

/** A call's cost at the prices of the tier it ran at (usage.service_tier), and the tier note. */
export function tieredCostOf(usage: Usage, found: Pick<Resolved, 'provider' | 'model'>, when?: Date): { cost: Cost; pricedAs: string; note: string | null } {
  const { prices, model, note } = pricesForTier(found, usage.service_tier, when);
  return { cost: costOf(usage, prices), pricedAs: `${found.provider.id}/${model.id}`, note };
}
