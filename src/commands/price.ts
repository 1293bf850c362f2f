import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { roundUsd } from '../pricing/cost.js';
import { hasTokenCounts, quoteFor, usageFromCounts, type Quote, type TokenCounts } from '../pricing/quote.js';
import { requireModel, requireProvider } from '../pricing/resolve.js';
import { tableJson } from '../pricing/source.js';
import { loadPriceTable } from '../pricing/table.js';
import type { PriceTable } from '../pricing/types.js';
import { compatLookupOf } from '../providers/compat.js';
import type { Usage } from '../usage.js';
import { renderModelList, renderQuotes } from '../render/price.js';

export interface PriceOptions extends TokenCounts {
  model?: string[];
  provider?: string;
  json?: boolean;
  pricing?: string;
}

/** `llm-usage price`: one model's prices (and a call's cost), several side by side, or the list. */
export function priceCommand(search: string | undefined, opts: PriceOptions, io: Io): void {
  const table = loadPriceTable(opts.pricing ?? (io.env.LLM_USAGE_PRICING || undefined));
  const models = (opts.model ?? []).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
  if (search !== undefined && search.trim() === '') throw new UsageError('the search word is empty: give a word, or leave it out to list every model');

  if (models.length === 0) {
    if (hasTokenCounts(opts)) throw new UsageError('token counts need a model: add --model NAME');
    const providers = opts.provider ? [requireProvider(table, opts.provider)] : table.providers;
    const word = search?.toLowerCase();
    const quotes = providers.flatMap((provider) =>
      provider.models
        .filter((m) => !word || m.id.toLowerCase().includes(word) || (m.name ?? '').toLowerCase().includes(word))
        .map((model) => quoteFor({ asked: model.id, provider, model, via: [] })),
    );
    if (quotes.length === 0) throw new UsageError(`no known model matches "${search}"${opts.provider ? ` at ${opts.provider}` : ''}`);
    io.out(opts.json ? JSON.stringify(quotes.map((q) => toJson(q, table.source)), null, 2) + '\n' : renderModelList(quotes, table.source, io.colourOut));
    return;
  }
  if (search) throw new UsageError(`a search word ("${search}") lists models; with --model, leave it out`);

  let usage: Usage | undefined;
  if (hasTokenCounts(opts)) {
    const u = usageFromCounts(opts);
    if (typeof u === 'string') throw new UsageError(u);
    usage = u;
  }
  const quotes = models.map((m) => {
    // groq/MODEL, openrouter/VENDOR/MODEL: the provider's own prices (providers/compat.ts).
    const compat = compatLookupOf(m);
    return quoteFor({ ...requireModel(table, compat?.model ?? m, compat?.provider ?? opts.provider), asked: m }, usage);
  });
  if (opts.json) {
    const json = quotes.map((q) => toJson(q, table.source));
    io.out(JSON.stringify(json.length === 1 ? json[0] : json, null, 2) + '\n');
    return;
  }
  io.out(renderQuotes(quotes, table.source, io.colourOut));
}

/** A quote as JSON, naming the table its prices came from (price_table). */
function toJson(q: Quote, source: PriceTable['source']): Record<string, unknown> {
  const { cost, usage, ...rest } = q;
  const price_table = tableJson(source);
  if (!cost) return { ...rest, per_request: roundUsd(rest.per_request), price_table };
  return {
    ...rest,
    per_request: roundUsd(rest.per_request),
    price_table,
    usage,
    cost_usd: roundUsd(cost.usd),
    cost_known_usd: roundUsd(cost.knownUsd),
    cost_unpriced_parts: cost.unpriced,
    cost_parts: cost.parts.map((p) => ({ ...p, usd: roundUsd(p.usd) })),
  };
}
