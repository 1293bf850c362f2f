import { readFileSync } from 'node:fs';
import { fsProblem, UsageError } from '../errors.js';
import { readStdinIfPiped, type Io } from '../io.js';
import { costOf } from '../pricing/cost.js';
import { requireModel, resolveModel } from '../pricing/resolve.js';
import { loadPriceTable, priceAt } from '../pricing/table.js';
import { renderCount, type CountResult } from '../render/count.js';
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
  const found = resolveModel(table, opts.model);
  // Neither priced nor known to tiktoken: counting it with a default encoding would be a guess.
  if (!found && !tokens.hasKnownEncoding(opts.model)) requireModel(table, opts.model);
  // Claude's tokenizer is not public: tiktoken gives a close count there, and says so.
  const approximate = found?.provider.id === 'anthropic' || /^claude/i.test(opts.model);
  const encoding = approximate ? 'cl100k_base' : tokens.encodingForModel(opts.model);

  const counted = [];
  for (const input of inputs) {
    const n = opts.chat ? await tokens.countChatTokens(messagesFrom(input.source, input.text), approximate ? 'gpt-4' : opts.model) : await tokens.countTokens(input.text, encoding);
    counted.push({ source: input.source, tokens: n, characters: input.text.length });
  }
  const total = counted.reduce((n, c) => n + c.tokens, 0);
  const cost = found ? costOf(makeUsage({ input: total }), priceAt(found.model)) : null;
  const result: CountResult = {
    model: opts.model,
    encoding,
    approximate,
    chat: opts.chat === true,
    tokens: total,
    cost_usd: cost?.usd ?? null,
    priced_as: found ? `${found.provider.id}/${found.model.id}` : null,
    input_price_per_million: cost?.parts.find((p) => p.part === 'input')?.rate ?? null,
    inputs: counted,
  };
  io.out(opts.json ? JSON.stringify(result, null, 2) + '\n' : renderCount(result, io.colourOut));
}

function messagesFrom(source: string, text: string): { role: string; content: string; name?: string }[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--chat: ${source} is not JSON: ${(e as Error).message}`);
  }
  const ok = Array.isArray(data) && data.every((m) => m && typeof m.role === 'string' && typeof m.content === 'string' && (m.name === undefined || typeof m.name === 'string'));
  if (!ok) throw new UsageError(`--chat: ${source} must be a JSON array of messages like [{"role": "user", "content": "Tell me a joke"}]`);
  return data as { role: string; content: string; name?: string }[];
}
