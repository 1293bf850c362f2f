// The OpenAI-compatible half of the fake provider (mounted by ./fake-provider.mjs for paths under
// /compat/{provider}/): chat completions and legacy completions as each compatible provider
// answers them, with the usage quirks llm-usage reads:
//
//   groq        stream: usage in `x_groq.usage` on the last chunk, asked for or not
//   deepseek    cache reads as prompt_cache_hit_tokens / prompt_cache_miss_tokens, no prompt_tokens_details
//   x-ai        reasoning_tokens OUTSIDE completion_tokens; total_tokens = prompt + completion + reasoning
//   openrouter  usage.cost (USD) and cost_details; usage on every stream, asked for or not
//   mistral     stream: usage on the finish chunk, asked for or not
//   perplexity  citation_tokens, num_search_queries (billed by sonar-deep-research), search_context_size
//   the rest    OpenAI's own shape (together, fireworks, cerebras, moonshotai, ollama)
//
// Any path prefix after /compat/{provider} is accepted (groq's /openai/v1, fireworks' /inference/v1,
// openrouter's /api/v1, deepseek's and perplexity's none): the test points the client's base URL at
// `${fake.url}/compat/{provider}` plus the provider's own path.

/** The route of a request under /compat/, or null. */
export function compatRoute(method, pathname) {
  const m = /^\/compat\/([a-z-]+)(\/.*)?$/.exec(pathname);
  if (!m || method !== 'POST') return m ? { provider: m[1], kind: null } : null;
  const rest = m[2] ?? '';
  const kind = rest.endsWith('/chat/completions') ? 'chat' : rest.endsWith('/completions') ? 'completions' : null;
  return { provider: m[1], kind };
}

/** `usage` as provider `provider` reports it, from the fake's usage (`reasoning` is part of `output`). */
export function compatUsage(provider, u) {
  const base = { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
  switch (provider) {
    case 'deepseek':
      return { ...base, prompt_cache_hit_tokens: u.cached, prompt_cache_miss_tokens: u.input - u.cached, ...(u.reasoning ? { completion_tokens_details: { reasoning_tokens: u.reasoning } } : {}) };
    case 'x-ai':
      // completion_tokens leaves the reasoning out; the total counts it.
      return {
        prompt_tokens: u.input,
        completion_tokens: u.output - u.reasoning,
        total_tokens: u.input + u.output,
        prompt_tokens_details: { text_tokens: u.input, audio_tokens: 0, image_tokens: 0, cached_tokens: u.cached },
        completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
        num_sources_used: 0,
      };
    case 'openrouter':
      return {
        ...base,
        prompt_tokens_details: { cached_tokens: u.cached, cache_write_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: u.reasoning },
        ...(u.cost !== undefined ? { cost: u.cost, is_byok: false, cost_details: { upstream_inference_cost: null } } : {}),
      };
    case 'perplexity':
      return { ...base, citation_tokens: u.citations ?? 0, num_search_queries: u.searches ?? 1, search_context_size: 'low' };
    case 'groq':
      return { queue_time: 0.02, ...base, prompt_time: 0.001, completion_time: 0.01, total_time: 0.011 };
    default:
      return { ...base, ...(u.cached ? { prompt_tokens_details: { cached_tokens: u.cached } } : {}), ...(u.reasoning ? { completion_tokens_details: { reasoning_tokens: u.reasoning } } : {}) };
  }
}

// Providers that put usage in every stream whether or not stream_options asked (where each puts it).
const ALWAYS_STREAM_USAGE = { groq: 'x_groq', mistral: 'finish', openrouter: 'chunk', together: 'finish' };

/**
 * Answers one compatible request. `h` holds the fake provider's helpers: sendJson, streamSse,
 * sseData, choiceText, pieces.
 */
export async function compatHandle(ctx, route, h) {
  const { body, reply, model, res, headers } = ctx;
  const { provider, kind } = route;
  const chat = kind === 'chat';
  const id = (chat ? 'chatcmpl-' : 'cmpl-') + Math.random().toString(36).slice(2, 14);
  const created = Math.floor(Date.now() / 1000);
  const object = chat ? 'chat.completion' : 'text_completion';
  const usage = reply.usage ? compatUsage(provider, reply.usage) : undefined;

  if (!body.stream) {
    const choice = chat
      ? { index: 0, message: { role: 'assistant', content: h.choiceText(reply, 0) }, logprobs: null, finish_reason: 'stop' }
      : { index: 0, text: h.choiceText(reply, 0), logprobs: null, finish_reason: 'stop' };
    const out = { id, object, created, model, choices: [choice], ...(usage ? { usage } : {}) };
    if (provider === 'groq') out.x_groq = { id: 'req_' + id };
    if (provider === 'perplexity') out.citations = ['https://example.com/a'];
    h.sendJson(res, 200, out, headers);
    return;
  }

  const asked = body.stream_options?.include_usage === true;
  const always = ALWAYS_STREAM_USAGE[provider];
  const chunkObject = chat ? 'chat.completion.chunk' : 'text_completion';
  const piece = (text, finish) =>
    chat ? { index: 0, delta: finish ? {} : { content: text }, logprobs: null, finish_reason: finish } : { index: 0, text, logprobs: null, finish_reason: finish };
  function* events() {
    for (const text of h.pieces(reply, 0)) yield h.sseData({ id, object: chunkObject, created, model, choices: [piece(text, null)] });
    const finish = { id, object: chunkObject, created, model, choices: [piece('', 'stop')] };
    if (usage && always === 'x_groq') finish.x_groq = { id: 'req_' + id, usage };
    if (usage && always === 'finish') finish.usage = usage;
    yield h.sseData(finish);
    if (usage && (always === 'chunk' || (asked && always !== 'finish' && always !== 'x_groq'))) {
      yield h.sseData({ id, object: chunkObject, created, model, choices: [], usage });
    }
    yield 'data: [DONE]\n\n';
  }
  await h.streamSse(ctx, events());
}
