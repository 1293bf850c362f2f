import { costOf, roundUsd } from './pricing/cost.js';
import { resolveModel } from './pricing/resolve.js';
import { priceAt } from './pricing/table.js';
import type { PriceTable } from './pricing/types.js';
import { ANTHROPIC_DEFAULT_MAX_TOKENS, type CallSpec } from './providers/types.js';
import { messagesOf } from './record.js';
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
    const anthropic = spec.provider === 'anthropic';
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
    const found = resolveModel(table, spec.model, undefined, spec.provider);
    const choices = spec.n ?? 1;
    let perChoice: number | null = spec.maxTokens ?? null;
    let bound = '--max-tokens';
    if (perChoice === null && anthropic) {
      perChoice = ANTHROPIC_DEFAULT_MAX_TOKENS;
      bound = `max_tokens ${ANTHROPIC_DEFAULT_MAX_TOKENS} (the default sent)`;
    } else if (perChoice === null && found?.model.context_window) {
      perChoice = Math.max(0, found.model.context_window - prompt);
      bound = `the context window (${found.model.context_window})`;
    }
    const maxOutput = perChoice === null ? null : perChoice * choices;
    let cost: number | null = null;
    let unknown: string | null = null;
    if (!found) unknown = `no price for model "${spec.model}"`;
    else if (maxOutput === null) unknown = `nothing bounds the output of ${spec.model}: set --max-tokens`;
    else {
      const c = costOf(makeUsage({ input: prompt, output: maxOutput }), priceAt(found.model));
      cost = roundUsd(c.usd);
      if (cost === null) unknown = `${found.provider.id}/${found.model.id} has no ${c.unpriced.join(' or ')} price`;
    }
    calls.push({
      model: spec.model,
      priced_as: found ? `${found.provider.id}/${found.model.id}` : null,
      prompt_tokens: prompt,
      encoding: tokenizer.encoding,
      approximation: tokenizer.approximation,
      max_output_tokens: maxOutput,
      output_bound: maxOutput === null ? 'none' : bound,
      cost_usd: cost,
      unknown_because: unknown,
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
