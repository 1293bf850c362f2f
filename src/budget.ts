import { costOf, roundUsd } from './pricing/cost.js';
import { resolveForCall } from './pricing/resolve.js';
import { priceAt } from './pricing/table.js';
import type { PriceTable } from './pricing/types.js';
import { bedrockPricedModel } from './providers/bedrock.js';
import { compatPriceOf, isCompat } from './providers/compat.js';
import { ANTHROPIC_DEFAULT_MAX_TOKENS, type CallSpec } from './providers/types.js';
import { messagesOf, pricingProviderOf } from './record.js';
import { shownName } from './render/format.js';
import { makeUsage } from './usage.js';

/** The most one call can cost: its prompt (counted with tiktoken) plus every output token allowed. */
export interface WorstCase {
  model: string;
  priced_as: string | null;
  prompt_tokens: number;
  /** The tiktoken encoding the prompt was counted with. */
  encoding: string;
  /** Why the prompt count is approximate (the model's own tokenizer is not tiktoken's); null when exact. */
  approximation: string | null;
  /** Output tokens allowed across all choices; null when nothing bounds them. */
  max_output_tokens: number | null;
  /** What bounds the output: --max-tokens, Anthropic's default max_tokens, or the context window. */
  output_bound: string;
  cost_usd: number | null;
  /** Why the cost is null, when it is. */
  unknown_because: string | null;
}

export interface Budget {
  calls: WorstCase[];
  total_usd: number | null;
  max_cost_usd: number | null;
  within_limit: boolean | null;
}

/** The worst case of a plan of calls, before anything is sent. Prompts are counted once each. */
export async function worstCaseOf(specs: CallSpec[], table: PriceTable, maxCost?: number): Promise<Budget> {
  const tokens = await import('./tokens.js');
  const promptCounts = new Map<string, number>();
  const calls: WorstCase[] = [];
  for (const spec of specs) {
    // Anthropic messages (Claude on Bedrock too) always send max_tokens.
    const anthropic = spec.api === 'messages';
    const key = `${spec.api}\u0000${spec.system ?? ''}\u0000${spec.prompt}`;
    let prompt = promptCounts.get(key);
    if (prompt === undefined) {
      prompt =
        spec.api === 'completions'
          ? await tokens.countTokens(spec.prompt, tokens.tokenizerFor(spec.model, spec.provider).encoding)
          : await tokens.countChatTokens(messagesOf(spec), spec.model, spec.provider);
      promptCounts.set(key, prompt);
    }
    const tokenizer = tokens.tokenizerFor(spec.model, spec.provider);
    const choices = spec.n ?? 1;
    let perChoice: number | null = spec.maxTokens ?? null;
    let bound = '--max-tokens';
    if (perChoice === null && anthropic) {
      perChoice = ANTHROPIC_DEFAULT_MAX_TOKENS;
      bound = `max_tokens ${ANTHROPIC_DEFAULT_MAX_TOKENS} (the default sent)`;
    }
    const worst = worstCaseUsd(table, pricingProviderOf(spec.provider), pricedNameOf(spec), prompt, perChoice === null ? null : perChoice * choices);
    calls.push({
      model: spec.model,
      priced_as: worst.pricedAs,
      prompt_tokens: prompt,
      encoding: tokenizer.encoding,
      approximation: tokenizer.approximation,
      max_output_tokens: worst.maxOutput,
      output_bound: worst.maxOutput === null ? 'none' : perChoice === null ? worst.bound : bound,
      cost_usd: worst.usd,
      unknown_because: worst.unknownBecause,
    });
  }
  const total = calls.every((c) => c.cost_usd !== null) ? calls.reduce((s, c) => s + (c.cost_usd as number), 0) : null;
  return {
    calls,
    total_usd: roundUsd(total),
    max_cost_usd: maxCost ?? null,
    within_limit: maxCost === undefined || total === null ? null : total <= maxCost,
  };
}

/** The name a call is priced by: Bedrock's model id out of its ARN, else the model asked for. */
function pricedNameOf(spec: CallSpec): string {
  return (spec.provider === 'bedrock' && bedrockPricedModel(spec.model)) || spec.model;
}

/**
 * The most a call can cost: `prompt` tokens at the input price plus `maxOutput` tokens (all
 * choices) at the output price; with no bound on the output, whatever the context window
 * leaves. Null, with the reason, when the model has no price or nothing bounds its output.
 */
export function worstCaseUsd(
  table: PriceTable,
  provider: string,
  model: string,
  prompt: number,
  maxOutput: number | null,
): { usd: number | null; maxOutput: number | null; bound: string; pricedAs: string | null; unknownBecause: string | null } {
  // A compatible provider's call is bounded by its own prices only, as it is priced (providers/compat.ts).
  const found = isCompat(provider) ? compatPriceOf(table, model, provider) : resolveForCall(table, model, provider);
  const pricedAs = found ? `${found.provider.id}/${found.model.id}` : null;
  let bound = 'the request';
  if (maxOutput === null && found?.model.context_window) {
    maxOutput = Math.max(0, found.model.context_window - prompt);
    bound = `the context window (${found.model.context_window})`;
  }
  if (!found) {
    // Before the reply, an Azure deployment's name is all there is to price it by.
    const why = provider === 'azure' ? `azure prices no model named like the deployment "${shownName(model)}", and the model behind it is known only from its reply` : `no price for model "${shownName(model)}"`;
    return { usd: null, maxOutput, bound, pricedAs, unknownBecause: why };
  }
  if (maxOutput === null) return { usd: null, maxOutput, bound, pricedAs, unknownBecause: `nothing bounds the output of ${shownName(model)}: set --max-tokens` };
  const c = costOf(makeUsage({ input: prompt, output: maxOutput }), priceAt(found.model));
  return { usd: roundUsd(c.usd), maxOutput, bound, pricedAs, unknownBecause: c.usd === null ? `${pricedAs} has no ${c.unpriced.join(' or ')} price` : null };
}

/**
 * A spending limit that holds while calls run at the same time: a call is admitted only while
 * what was spent plus the worst cases of the calls in flight, its own included, stay within
 * the limit; when it ends, its reservation gives way to its real cost.
 */
export class SpendingLimit {
  spentUsd = 0;
  reservedUsd = 0;

  constructor(readonly maxUsd?: number) {}

  /** Reserves `worstUsd` and returns it, or returns null: the call must be refused. */
  admit(worstUsd: number): number | null {
    if (this.maxUsd === undefined) return 0;
    if (this.spentUsd + this.reservedUsd + worstUsd > this.maxUsd) return null;
    this.reservedUsd += worstUsd;
    return worstUsd;
  }

  /** A call ended: its reservation is released and its known cost (if any) spent. */
  settle(reservedUsd: number, costUsd: number | null): void {
    this.reservedUsd = Math.max(0, this.reservedUsd - reservedUsd);
    if (costUsd !== null) this.spentUsd += costUsd;
  }
}
