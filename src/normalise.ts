/**
 * Pure functions from each wire format's usage JSON to the normalised `Usage`.
 *
 * They take plain parsed JSON (not SDK types) because the metering proxy parses raw
 * bodies and SSE without any SDK. Every function tolerates null, undefined, missing or
 * non-numeric fields, and returns null when the object carries no usage at all.
 */
import { makeUsage, type Usage } from './usage.js';
import type { Api } from './providers/types.js';

type WireObject = Record<string, unknown>;

function objectOrNull(value: unknown): WireObject | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as WireObject) : null;
}

/** A token count, or undefined when the field is missing, null or not a usable number. */
function countOf(object: WireObject | null, key: string): number | undefined {
  const value = object?.[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * OpenAI chat completions and legacy completions (`CompletionUsage`).
 *
 * `prompt_tokens` already include `prompt_tokens_details.cached_tokens`, and
 * `completion_tokens` already include `completion_tokens_details.reasoning_tokens`, so
 * the details are breakdowns, never added on top. `prompt_tokens_details.cache_write_tokens`
 * is documented in openai@6 ("the unadjusted number of prompt tokens written to cache")
 * and is likewise a part of `prompt_tokens`; it is 0 when absent (OpenAI reports none).
 */
export function openAIChatUsage(wire: unknown, response?: unknown): Usage | null {
  return openAIUsage(wire, CHAT_FIELDS, response);
}

/**
 * OpenAI Responses API (`ResponseUsage`): `input_tokens` include
 * `input_tokens_details.cached_tokens` (and `cache_write_tokens`), `output_tokens`
 * include `output_tokens_details.reasoning_tokens`.
 */
export function openAIResponsesUsage(wire: unknown, response?: unknown): Usage | null {
  return openAIUsage(wire, RESPONSES_FIELDS, response);
}

/** Where each OpenAI API puts the same counts: only the names differ. */
interface OpenAIFields {
  input: string;
  output: string;
  inputDetails: string;
  outputDetails: string;
}
const CHAT_FIELDS: OpenAIFields = { input: 'prompt_tokens', output: 'completion_tokens', inputDetails: 'prompt_tokens_details', outputDetails: 'completion_tokens_details' };
const RESPONSES_FIELDS: OpenAIFields = { input: 'input_tokens', output: 'output_tokens', inputDetails: 'input_tokens_details', outputDetails: 'output_tokens_details' };

/**
 * `response` is the object that carries the usage (a completion, a chunk, a Response): its
 * `service_tier`, and for Responses its `web_search_call` output items that searched (an
 * `open_page` or `find_in_page` action is not a billed search).
 */
function openAIUsage(wire: unknown, f: OpenAIFields, response?: unknown): Usage | null {
  const usage = objectOrNull(wire);
  const input = countOf(usage, f.input);
  const output = countOf(usage, f.output);
  if (input === undefined && output === undefined) return null;
  const inputDetails = objectOrNull(usage?.[f.inputDetails]);
  const outputDetails = objectOrNull(usage?.[f.outputDetails]);
  const reasoning = countOf(outputDetails, 'reasoning_tokens');
  return makeUsage({
    input,
    output: output !== undefined && reasoningOutside(usage, input, output, reasoning) ? output + (reasoning as number) : output,
    // DeepSeek reports its cache reads as prompt_cache_hit_tokens (beside prompt_cache_miss_tokens;
    // the two add up to prompt_tokens), not in prompt_tokens_details.
    cacheRead: countOf(inputDetails, 'cached_tokens') ?? countOf(usage, 'prompt_cache_hit_tokens'),
    cacheCreation: countOf(inputDetails, 'cache_write_tokens'),
    reasoning,
    webSearches: webSearchCalls(objectOrNull(response)?.['output']),
    serviceTier: tierOf(objectOrNull(response)),
  });
}

/** A reported service tier: a short word, or undefined. */
function tierOf(object: WireObject | null): string | undefined {
  const tier = object?.['service_tier'];
  return typeof tier === 'string' && /^[a-z0-9_-]{1,32}$/i.test(tier) ? tier : undefined;
}

/** How many Responses output items are web searches (`web_search_call` with a search action, or none given). */
function webSearchCalls(output: unknown): number | undefined {
  if (!Array.isArray(output)) return undefined;
  const searches = output.filter((item) => {
    const o = objectOrNull(item);
    if (o?.['type'] !== 'web_search_call') return false;
    const action = objectOrNull(o['action']);
    return !action || action['type'] === undefined || action['type'] === 'search';
  });
  return searches.length || undefined;
}

/**
 * Whether the reasoning tokens were left out of the output count, as xAI's chat completions
 * leave them ("counted separately from completion_tokens, but counted in the total_tokens"):
 * the provider's own total says so when it is input + output + reasoning and not input + output.
 * OpenAI's (and every other provider's seen) include them, and their totals say that instead.
 */
function reasoningOutside(usage: WireObject | null, input: number | undefined, output: number, reasoning: number | undefined): boolean {
  const total = countOf(usage, 'total_tokens');
  if (!reasoning || total === undefined) return false;
  return total === (input ?? 0) + output + reasoning && total !== (input ?? 0) + output;
}

/**
 * The usage a chat or legacy completions stream chunk carries: OpenAI's `usage`, or Groq's
 * `x_groq.usage` (on its last content chunk, for streams that did not ask for include_usage).
 */
export function openAIChunkUsage(chunk: unknown): Usage | null {
  const c = objectOrNull(chunk);
  return openAIChatUsage(c?.['usage'], chunk) ?? openAIChatUsage(objectOrNull(c?.['x_groq'])?.['usage'], chunk);
}

/**
 * What a provider's usage says beyond tokens, where it says it: the cost it billed, in USD
 * (OpenRouter's `usage.cost`, its credits, which are US dollars), and Perplexity's billed extras
 * (`citation_tokens`, `num_search_queries`). Undefined when it says none of them.
 */
export function usageExtrasOf(usage: unknown): UsageExtras | undefined {
  const u = objectOrNull(usage);
  const cost = u?.['cost'];
  const extras: UsageExtras = {};
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) extras.reported_cost_usd = cost;
  const citations = countOf(u, 'citation_tokens');
  const searches = countOf(u, 'num_search_queries');
  if (citations) extras.citation_tokens = citations;
  if (searches) extras.web_searches = searches;
  return Object.keys(extras).length ? extras : undefined;
}

export interface UsageExtras {
  reported_cost_usd?: number;
  citation_tokens?: number;
  web_searches?: number;
}

/**
 * Anthropic Messages (`Usage`, or a stream's merged cumulative usage).
 *
 * Anthropic's `input_tokens` EXCLUDE cache reads and cache writes, which are billed on
 * top: the normalised input is their sum. `cache_creation.ephemeral_1h_input_tokens` is
 * the one-hour-TTL part of the cache writes. `output_tokens_details.thinking_tokens` is
 * the reasoning part of `output_tokens` (already included in it).
 */
export function anthropicUsage(wire: unknown): Usage | null {
  const usage = objectOrNull(wire);
  const uncachedInput = countOf(usage, 'input_tokens');
  const output = countOf(usage, 'output_tokens');
  if (uncachedInput === undefined && output === undefined) return null;
  const cacheRead = countOf(usage, 'cache_read_input_tokens') ?? 0;
  const ttlBreakdown = objectOrNull(usage?.['cache_creation']);
  const cacheCreation1h = countOf(ttlBreakdown, 'ephemeral_1h_input_tokens');
  // The total write count is authoritative; the TTL breakdown only stands in when it is missing.
  const cacheCreation =
    countOf(usage, 'cache_creation_input_tokens') ??
    (ttlBreakdown ? (countOf(ttlBreakdown, 'ephemeral_5m_input_tokens') ?? 0) + (cacheCreation1h ?? 0) : 0);
  const outputDetails = objectOrNull(usage?.['output_tokens_details']);
  return makeUsage({
    input: (uncachedInput ?? 0) + cacheRead + cacheCreation,
    output,
    cacheRead,
    cacheCreation,
    cacheCreation1h,
    reasoning: countOf(outputDetails, 'thinking_tokens'),
    webSearches: countOf(objectOrNull(usage?.['server_tool_use']), 'web_search_requests'),
    serviceTier: tierOf(usage),
  });
}

/**
 * Anthropic stream usage after one more event: `message_start` carries the input (and
 * cache) counts with `output_tokens` 1; each `message_delta` carries CUMULATIVE counts
 * (the final output, and in newer API versions the input/cache fields again, or null).
 * Usage is cumulative: replace, don't add — every field the update reports (non-null)
 * replaces the earlier one, every field it leaves out or nulls keeps its earlier value.
 * Returns the merged wire object, to pass to `anthropicUsage`.
 */
export function anthropicCumulativeUsage(previous: unknown, update: unknown): WireObject | null {
  const before = objectOrNull(previous);
  const after = objectOrNull(update);
  if (!after) return before ? { ...before } : null;
  const merged: WireObject = { ...before };
  for (const key in after) {
    const value = after[key];
    if (value !== null && value !== undefined) merged[key] = value;
  }
  return merged;
}

/**
 * Amazon Bedrock Converse (`TokenUsage`, also ConverseStream's `metadata.usage`).
 *
 * Like Anthropic's, Converse's `inputTokens` EXCLUDE `cacheReadInputTokens` and
 * `cacheWriteInputTokens`, which are billed beside them (`totalTokens` is the sum of all four):
 * the normalised input is their sum.
 */
export function bedrockConverseUsage(wire: unknown): Usage | null {
  const usage = objectOrNull(wire);
  const uncachedInput = countOf(usage, 'inputTokens');
  const output = countOf(usage, 'outputTokens');
  if (uncachedInput === undefined && output === undefined) return null;
  const cacheRead = countOf(usage, 'cacheReadInputTokens') ?? 0;
  const cacheCreation = countOf(usage, 'cacheWriteInputTokens') ?? 0;
  return makeUsage({ input: (uncachedInput ?? 0) + cacheRead + cacheCreation, output, cacheRead, cacheCreation });
}

/**
 * Bedrock's own counts of an InvokeModel call, whatever the model's body format: the
 * `x-amzn-bedrock-input-token-count` / `-output-token-count` (and `-cache-read-input-token-count`,
 * `-cache-write-input-token-count`) response headers, or a stream's
 * `amazon-bedrock-invocationMetrics` (`inputTokenCount`, `outputTokenCount`,
 * `cacheReadInputTokenCount`, `cacheWriteInputTokenCount`). The input count leaves out cache
 * reads and writes, as Anthropic's `input_tokens` does. Counts may be numbers or header strings.
 */
export function bedrockInvocationUsage(counts: { input?: unknown; output?: unknown; cacheRead?: unknown; cacheWrite?: unknown }): Usage | null {
  const uncachedInput = wholeCount(counts.input);
  const output = wholeCount(counts.output);
  if (uncachedInput === undefined && output === undefined) return null;
  const cacheRead = wholeCount(counts.cacheRead) ?? 0;
  const cacheCreation = wholeCount(counts.cacheWrite) ?? 0;
  return makeUsage({ input: (uncachedInput ?? 0) + cacheRead + cacheCreation, output, cacheRead, cacheCreation });
}

/** A count given as a number or as a header's decimal string; undefined otherwise. */
function wholeCount(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Gemini's `usageMetadata` (generateContent, and every chunk of streamGenerateContent, whose
 * counts are cumulative: the last chunk's are final).
 *
 * `promptTokenCount` already includes `cachedContentTokenCount` (cache reads);
 * `toolUsePromptTokenCount` (the results of tools Gemini ran itself, such as code execution or
 * search) is prompt input billed beside it; `thoughtsTokenCount` is billed at the output rate but
 * is NOT part of `candidatesTokenCount`: the normalised output is their sum, with the thoughts as
 * its reasoning part. `totalTokenCount` is the sum of all four.
 */
export function geminiUsage(wire: unknown): Usage | null {
  const usage = objectOrNull(wire);
  const prompt = countOf(usage, 'promptTokenCount');
  const candidates = countOf(usage, 'candidatesTokenCount');
  const total = countOf(usage, 'totalTokenCount');
  if (prompt === undefined && candidates === undefined && total === undefined) return null;
  const toolUse = countOf(usage, 'toolUsePromptTokenCount') ?? 0;
  const thoughts = countOf(usage, 'thoughtsTokenCount') ?? 0;
  return makeUsage({
    input: (prompt ?? 0) + toolUse,
    output: (candidates ?? 0) + thoughts,
    cacheRead: countOf(usage, 'cachedContentTokenCount'),
    reasoning: thoughts,
  });
}

/** The usage of any wire format, by API flavour (for the metering proxy). */
export function usageFromWire(api: Api, wire: unknown): Usage | null {
  switch (api) {
    case 'chat':
    case 'completions':
      return openAIChatUsage(wire);
    case 'responses':
      return openAIResponsesUsage(wire);
    case 'messages':
      return anthropicUsage(wire);
    case 'converse':
      return bedrockConverseUsage(wire);
    case 'gemini':
      return geminiUsage(wire);
  }
}
