/**
 * The normalised usage record of one call, in LangChain's UsageMetadata shape.
 *
 * - `input_tokens` counts every prompt token: uncached, cache reads and cache writes
 *   (OpenAI's `prompt_tokens` already include cached ones; Anthropic's `input_tokens`
 *   exclude cache reads and writes, which are added on top when normalising).
 * - `output_tokens` counts every completion token, reasoning included.
 * - `input_token_details.cache_creation_1h` is the part of `cache_creation` written with
 *   a one-hour TTL (Anthropic), priced at its own rate where the model has one.
 */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  input_token_details: { cache_read: number; cache_creation: number; cache_creation_1h?: number };
  output_token_details: { reasoning: number };
  /**
   * Server-side web searches billed per search: Anthropic's `server_tool_use.web_search_requests`,
   * or the OpenAI Responses `web_search_call` items that searched. Absent when there were none.
   */
  web_search_requests?: number;
  /**
   * The service tier the provider says it served the call at (OpenAI `service_tier`, Anthropic
   * `usage.service_tier`). Carried from the wire to the record, which keeps it beside the usage
   * (CallRecord.service_tier); absent when the provider reports none.
   */
  service_tier?: string;
}

/** Where a usage record came from: the provider's own report, or our tiktoken count. */
export type UsageSource = 'reported' | 'estimated';

/** Builds a complete Usage from partial counts; total is always input + output. */
export function makeUsage(parts: {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
  cacheCreation1h?: number;
  reasoning?: number;
  webSearches?: number;
  serviceTier?: string;
}): Usage {
  const input = parts.input ?? 0;
  const output = parts.output ?? 0;
  const usage: Usage = {
    input_tokens: input,
    output_tokens: output,
    total_tokens: input + output,
    input_token_details: { cache_read: parts.cacheRead ?? 0, cache_creation: parts.cacheCreation ?? 0 },
    output_token_details: { reasoning: parts.reasoning ?? 0 },
  };
  if (parts.cacheCreation1h) usage.input_token_details.cache_creation_1h = parts.cacheCreation1h;
  if (parts.webSearches) usage.web_search_requests = parts.webSearches;
  if (parts.serviceTier) usage.service_tier = parts.serviceTier;
  return usage;
}
