import { readFileSync } from 'node:fs';
import { fsProblem, UsageError } from '../errors.js';
import { readStdinIfPiped, type Io } from '../io.js';
import { costOf, roundUsd } from '../pricing/cost.js';
import { requireModel, resolveModel } from '../pricing/resolve.js';
import { loadPriceTable, priceAt } from '../pricing/table.js';
import { compatLookupOf } from '../providers/compat.js';
import { renderCount, type CountResult } from '../render/count.js';
import type { ChatMessage } from '../tokens.js';
import { makeUsage } from '../usage.js';

export interface CountOptions {
  file?: string[];
  model: string;
  chat?: boolean;
  json?: boolean;
  pricing?: string;
}

/** `llm-usage count`: offline tiktoken counts and the input cost at the model's price. */
export async function countCommand(words: string[], opts: CountOptions, io: Io): Promise<void> {
  const inputs: { source: string; text: string }[] = [];
  if (words.length) inputs.push({ source: 'text', text: words.join(' ') });
  for (const file of opts.file ?? []) {
    try {
      inputs.push({ source: file, text: readFileSync(file, 'utf8') });
    } catch (e) {
      throw new UsageError(`--file ${file}: ${fsProblem(e)}: check the path`);
    }
  }
  if (inputs.length === 0) {
    const piped = await readStdinIfPiped();
    if (piped === null) throw new UsageError('nothing to count: give text, --file FILE, or pipe it on stdin');
    inputs.push({ source: 'stdin', text: piped });
  }

  const tokens = await import('../tokens.js');
  const table = loadPriceTable(opts.pricing ?? (io.env.LLM_USAGE_PRICING || undefined));
  // groq/MODEL, openrouter/VENDOR/MODEL: priced as that provider's calls are (providers/compat.ts).
  const compat = compatLookupOf(opts.model);
  const found = compat ? requireModel(table, compat.model, compat.provider) : resolveModel(table, opts.model);
  // Neither priced nor known to tiktoken: counting it with a default encoding would be a guess.
  if (!found && !tokens.hasKnownEncoding(opts.model)) requireModel(table, opts.model);
  const tokenizer = tokens.tokenizerFor(opts.model, found?.provider.id);
  const approximations = new Set(tokenizer.approximation ? [tokenizer.approximation] : []);

  const counted = [];
  for (const input of inputs) {
    let n: number;
    if (opts.chat) {
      const chat = await tokens.chatTokens(messagesFrom(input.source, input.text), opts.model, found?.provider.id);
      for (const a of chat.approximations) approximations.add(a);
      n = chat.tokens;
    } else n = await tokens.countTokens(input.text, tokenizer.encoding);
    counted.push({ source: input.source, tokens: n, characters: input.text.length });
  }
  const total = counted.reduce((n, c) => n + c.tokens, 0);
  const cost = found ? costOf(makeUsage({ input: total }), priceAt(found.model)) : null;
  const result: CountResult = {
    model: opts.model,
    encoding: tokenizer.encoding,
    approximate: approximations.size > 0,
    approximations: [...approximations],
    chat: opts.chat === true,
    tokens: total,
    cost_usd: roundUsd(cost?.usd ?? null),
    priced_as: found ? `${found.provider.id}/${found.model.id}` : null,
    input_price_per_million: cost?.parts.find((p) => p.part === 'input')?.rate ?? null,
    inputs: counted,
  };
  io.out(opts.json ? JSON.stringify(result, null, 2) + '\n' : renderCount(result, io.colourOut));
}

/** The messages of a --chat input: every shape the Chat Completions API takes (see ChatMessage). */
function messagesFrom(source: string, text: string): ChatMessage[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--chat: ${source} is not JSON: ${(e as Error).message}`);
  }
  const shape = 'a JSON array of messages like [{"role": "user", "content": "Tell me a joke"}]';
  if (!Array.isArray(data)) throw new UsageError(`--chat: ${source} must be ${shape}`);
  data.forEach((m: unknown, i) => {
    const problem = messageProblem(m);
    if (problem) throw new UsageError(`--chat: message ${i + 1} in ${source} ${problem}; it must be ${shape}`);
  });
  return data as ChatMessage[];
}

/** What is wrong with one message, or null. Only the fields the count reads are checked. */
function messageProblem(m: unknown): string | null {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return 'is not an object';
  const o = m as Record<string, unknown>;
  if (typeof o.role !== 'string') return 'has no "role" string';
  const c = o.content;
  const part = (p: unknown) => p !== null && typeof p === 'object' && typeof (p as { type?: unknown }).type === 'string';
  if (!(c === undefined || c === null || typeof c === 'string' || (Array.isArray(c) && c.every(part)))) return 'has a "content" that is not a string, null, or an array of parts with a "type"';
  for (const key of ['name', 'tool_call_id'] as const) if (o[key] !== undefined && typeof o[key] !== 'string') return `has a "${key}" that is not a string`;
  const calls = o.tool_calls;
  if (calls !== undefined && !(Array.isArray(calls) && calls.every((t) => t !== null && typeof t === 'object'))) return 'has "tool_calls" that are not an array of objects';
  return null;
}
