// A local fake LLM provider: a node:http server on 127.0.0.1 that speaks the wire formats of
// OpenAI chat completions, legacy completions, the Responses API, embeddings and Anthropic
// Messages closely enough that the real `openai` and `@anthropic-ai/sdk` SDKs (pointed at it
// through `baseURL`) and plain-HTTP clients parse it exactly as they parse the real services.
// Azure OpenAI (fake-azure.mjs), Google's Gemini API (fake-gemini.mjs) and the OpenAI-compatible
// providers under /compat/NAME/ (fake-compat.mjs) have halves of their own.
//
// Plain ESM JavaScript with no dependencies so benchmarks can import it with plain `node`.
// Types: ./fake-provider.d.mts. Command line: ./fake-provider-cli.mjs.

import { createServer } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { azureErrorFor, azureRoute, choiceFilterResults, promptFilterChunk, promptFilterResults } from './fake-azure.mjs';
import { compatHandle, compatRoute } from './fake-compat.mjs';
import { geminiErrorFor, geminiReply, geminiRoute } from './fake-gemini.mjs';

export const DEFAULT_TEXT = "Why don't scientists trust atoms?\n\nBecause they make up everything!";
export const DEFAULT_USAGE = Object.freeze({ input: 11, output: 16 });

/** Piece streamed `repeatChunks` times when the reply gives no explicit `chunks`. */
const DEFAULT_REPEAT_PIECE = ' tok';

/** Streams are written in batches of about this many characters, not one write per event. */
const BATCH_CHARS = 64 * 1024;

/** Marker an event generator yields to make the writer drop the connection (`cutAfter`). */
const CUT = Symbol('cut');

/** The OpenAI route whose handler serves each Azure API. */
const AZURE_PATHS = { chat: 'chat/completions', completions: 'completions', embeddings: 'embeddings', responses: 'responses' };

const ROUTES = {
  '/v1/chat/completions': { family: 'openai', handle: chatCompletions, model: 'gpt-3.5-turbo-0125' },
  '/v1/completions': { family: 'openai', handle: legacyCompletions, model: 'gpt-3.5-turbo-instruct' },
  '/v1/responses': { family: 'openai', handle: responses, model: 'gpt-4o-mini-2024-07-18' },
  '/v1/embeddings': { family: 'openai', handle: embeddings, model: 'text-embedding-3-small' },
  '/v1/messages': { family: 'anthropic', handle: anthropicMessages, model: 'claude-3-5-haiku-20241022' },
};

/**
 * Starts the fake provider.
 * @param {{ port?: number, defaultReply?: object, azureKeys?: { apiKey?: string, adToken?: string }, geminiKeys?: { apiKey?: string } }} [options]
 */
export async function startFakeProvider(options = {}) {
  const initialDefault = options.defaultReply ?? {};
  let defaultReply = initialDefault;
  let replyQueue = [];
  const requests = [];

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((err) => {
      // A bug in the fake itself: answer 500 if we still can, never crash the test process.
      if (!res.headersSent) {
        sendJson(res, 500, { error: { message: `fake provider: ${err?.stack ?? err}`, type: 'server_error', param: null, code: null } });
      } else {
        res.destroy();
      }
    });
  });

  async function handleRequest(req, res) {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let body = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = null;
    }
    // Node already lower-cases incoming header names.
    requests.push({ method: req.method, path: url.pathname, url: req.url, headers: { ...req.headers }, body, raw });

    // Gemini: its own paths, key check and errors (fake-gemini.mjs); its OpenAI-compatible chat is OpenAI's handler.
    const gemini = geminiRoute(req.method, url, req.headers, options.geminiKeys);
    if (gemini?.reject) {
      sendJson(res, gemini.reject.status, gemini.reject.body, { vary: 'Origin' });
      return;
    }
    if (gemini) {
      const reply = normaliseReply(replyQueue.length ? replyQueue.shift() : defaultReply);
      if (reply.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      const ctx = { req, res, body: body ?? {}, reply, headers: { ...reply.headers }, model: reply.model ?? body?.model ?? 'gemini-2.5-flash', azure: false };
      if (reply.status && reply.status >= 400) sendJson(res, reply.status, geminiErrorFor(reply.status, reply), ctx.headers);
      else if (gemini.kind === 'openai') await chatCompletions(ctx);
      else await geminiReply(ctx, gemini, { pieces, choiceText, fault, sendJson, streamSse, CUT, responseId: () => randomId(22) });
      return;
    }

    // OpenAI-compatible providers under /compat/{provider}/, each with its usage quirks (fake-compat.mjs).
    const compat = compatRoute(req.method, url.pathname);
    if (compat) {
      if (!compat.kind) {
        sendJson(res, 404, openAiErrorBody(`Invalid URL (${req.method} ${url.pathname})`, 'invalid_request_error', null), { 'x-request-id': requestId() });
        return;
      }
      const reply = normaliseReply(replyQueue.length ? replyQueue.shift() : defaultReply);
      const ctx = { req, res, body: body ?? {}, reply, headers: { 'x-request-id': requestId(), ...reply.headers }, model: reply.model ?? body?.model ?? 'unknown', azure: false };
      if (reply.status && reply.status >= 400) sendError(ctx, 'openai');
      else await compatHandle(ctx, compat, { sendJson, streamSse, sseData, choiceText, pieces });
      return;
    }

    // Azure OpenAI: its own paths, checks and errors (fake-azure.mjs); then OpenAI's handlers.
    const azure = url.pathname.startsWith('/openai/') ? azureRoute(req.method, url, req.headers, options.azureKeys) : null;
    if (azure?.reject) {
      sendJson(res, azure.reject.status, azure.reject.body, azure.reject.headers);
      return;
    }
    const route = azure ? { family: 'azure', handle: ROUTES[`/v1/${AZURE_PATHS[azure.kind]}`].handle, model: azure.model } : req.method === 'POST' ? ROUTES[url.pathname] : undefined;
    if (!route && url.pathname.startsWith('/openai/')) {
      sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } }, { 'apim-request-id': randomUUID() });
      return;
    }
    if (!route) {
      // The real OpenAI answer for an unknown path. Unknown routes do not consume a queued reply.
      sendJson(res, 404, openAiErrorBody(`Invalid URL (${req.method} ${url.pathname})`, 'invalid_request_error', null), {
        'x-request-id': requestId(),
      });
      return;
    }

    const reply = normaliseReply(replyQueue.length ? replyQueue.shift() : defaultReply);
    if (reply.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));

    const headers = {
      [route.family === 'anthropic' ? 'request-id' : 'x-request-id']: requestId(),
      ...(route.family === 'azure' ? { 'apim-request-id': randomUUID() } : {}),
      ...reply.headers,
    };
    const ctx = {
      req,
      res,
      body: body ?? {},
      reply,
      headers,
      // Azure names the model behind the deployment, whatever the body's model says.
      model: reply.model ?? (azure ? route.model : body?.model) ?? route.model,
      azure: azure !== null,
    };
    if (reply.status && reply.status >= 400) {
      sendError(ctx, route.family);
      return;
    }
    await route.handle(ctx);
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    queue(...replies) {
      replyQueue.push(...replies);
    },
    setDefault(reply) {
      defaultReply = reply ?? {};
    },
    reset() {
      replyQueue = [];
      requests.length = 0; // keep the same array: callers may hold `fake.requests`
      defaultReply = initialDefault;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets held by SDK agents would otherwise keep close() pending.
        server.closeAllConnections();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Replies

/** Fills the optional reply fields with the built-in defaults. */
function normaliseReply(reply) {
  const r = reply ?? {};
  return {
    ...r,
    // `usage: null` is meaningful ("report no usage"); only an absent usage takes the default.
    usage: r.usage === null ? null : normaliseUsage(r.usage === undefined ? DEFAULT_USAGE : r.usage),
    // Lower-cased so a reply's "X-Request-Id" replaces ours instead of being sent beside it.
    headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    delayMs: r.delayMs ?? 0,
  };
}

function normaliseUsage(u) {
  return {
    input: u.input ?? 0,
    output: u.output ?? 0,
    cached: u.cached ?? 0,
    cacheWrite: u.cacheWrite ?? 0,
    cacheWrite1h: u.cacheWrite1h ?? 0,
    reasoning: u.reasoning ?? 0,
    toolUse: u.toolUse ?? 0,
    // OpenRouter's reported cost (fake-compat.mjs); absent unless given.
    ...(u.cost !== undefined ? { cost: u.cost } : {}),
    // Perplexity's citation tokens and web searches (fake-compat.mjs).
    ...(u.citations !== undefined ? { citations: u.citations } : {}),
    ...(u.searches !== undefined ? { searches: u.searches } : {}),
  };
}

/** The text of choice `i` when it is not streamed piece by piece. */
function choiceText(reply, i) {
  if (reply.repeatChunks || (reply.chunks && reply.text === undefined)) return [...pieces(reply, i)].join('');
  return textFor(reply, i);
}

function textFor(reply, i) {
  const t = reply.text ?? DEFAULT_TEXT;
  return Array.isArray(t) ? (t[i % t.length] ?? '') : t;
}

/** The content pieces streamed for choice `i`, lazily (a benchmark may ask for 50,000). */
function* pieces(reply, i) {
  const base = reply.chunks ?? (reply.repeatChunks ? [DEFAULT_REPEAT_PIECE] : splitText(textFor(reply, i)));
  if (!reply.repeatChunks) {
    yield* base;
    return;
  }
  for (let k = 0; k < reply.repeatChunks; k++) yield base[k % base.length];
}

/** Word-sized pieces (" don't", " scientists"), roughly what a tokenizer-driven stream sends. */
function splitText(text) {
  return text.match(/\s*\S+|\s+/g) ?? [];
}

/** Number of choices asked for (`n`, and for legacy completions one set per prompt). */
function choiceCount(body, perPrompt = false) {
  const n = Number.isInteger(body.n) && body.n > 0 ? body.n : 1;
  if (!perPrompt) return n;
  const p = body.prompt;
  // A list of strings, or a list of token lists, is several prompts; a list of numbers is one.
  const prompts = Array.isArray(p) && p.length > 0 && typeof p[0] !== 'number' ? p.length : 1;
  return prompts * n;
}

// ---------------------------------------------------------------------------------------------
// OpenAI chat completions

function openAiChatUsage(u) {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

async function chatCompletions(ctx) {
  const { body, reply, model } = ctx;
  const n = choiceCount(body);
  const id = 'chatcmpl-' + randomId(29);
  const created = nowSeconds();
  const fingerprint = 'fp_' + randomHex(10);

  if (!body.stream) {
    const choices = [];
    for (let i = 0; i < n; i++) {
      choices.push({
        index: i,
        message: { role: 'assistant', content: choiceText(reply, i), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      });
    }
    if (ctx.azure) for (const choice of choices) choice.content_filter_results = choiceFilterResults();
    const out = { id, object: 'chat.completion', created, model, choices };
    if (ctx.azure) out.prompt_filter_results = promptFilterResults();
    if (reply.usage) out.usage = openAiChatUsage(reply.usage);
    out.service_tier = reply.serviceTier ?? 'default';
    out.system_fingerprint = fingerprint;
    sendJson(ctx.res, 200, out, ctx.headers);
    return;
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const base = { id, object: 'chat.completion.chunk', created, model, service_tier: reply.serviceTier ?? 'default', system_fingerprint: fingerprint };
  // When include_usage is asked, OpenAI sends `"usage": null` on every chunk before the usage one.
  const tail = includeUsage ? { usage: null } : {};
  const chunk = (choices) => sseData({ ...base, choices, ...tail });
  const contentChunk = compileTemplate(
    { ...base, choices: [{ index: HOLE(0), delta: { content: HOLE(1) }, logprobs: null, finish_reason: null }], ...tail },
    (json) => `data: ${json}\n\n`,
  );

  function* events() {
    if (ctx.azure) yield promptFilterChunk();
    for (let i = 0; i < n; i++) {
      yield chunk([{ index: i, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]);
    }
    // n > 1: the choices' deltas interleave, one piece of each choice in turn.
    const iters = Array.from({ length: n }, (_, i) => pieces(reply, i));
    let sent = 0;
    for (let live = n; live > 0; ) {
      live = 0;
      for (let i = 0; i < n; i++) {
        const next = iters[i].next();
        if (next.done) continue;
        live++;
        const f = fault(reply, sent);
        if (f) {
          yield f === 'cut' ? CUT : openAiStreamError(reply);
          return;
        }
        yield contentChunk(i, next.value);
        sent++;
      }
    }
    const endFault = fault(reply, sent, true);
    if (endFault) {
      yield endFault === 'cut' ? CUT : openAiStreamError(reply);
      return;
    }
    for (let i = 0; i < n; i++) yield chunk([{ index: i, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    // One usage chunk covers all choices; `usage: null` in the reply = a server that never sends it.
    if (includeUsage && reply.usage) yield sseData({ ...base, choices: [], usage: openAiChatUsage(reply.usage) });
    yield 'data: [DONE]\n\n';
  }
  await streamSse(ctx, events());
}

// ---------------------------------------------------------------------------------------------
// OpenAI legacy completions

function openAiLegacyUsage(u) {
  return { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
}

async function legacyCompletions(ctx) {
  const { body, reply, model } = ctx;
  const n = choiceCount(body, true);
  const id = 'cmpl-' + randomId(29);
  const created = nowSeconds();

  if (!body.stream) {
    const choices = [];
    for (let i = 0; i < n; i++) choices.push({ text: choiceText(reply, i), index: i, logprobs: null, finish_reason: 'stop' });
    const out = { id, object: 'text_completion', created, model, choices };
    if (ctx.azure) out.prompt_filter_results = promptFilterResults();
    if (reply.usage) out.usage = openAiLegacyUsage(reply.usage);
    sendJson(ctx.res, 200, out, ctx.headers);
    return;
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const base = { id, object: 'text_completion', created, model };
  const tail = includeUsage ? { usage: null } : {};
  const textChunk = compileTemplate(
    { ...base, choices: [{ text: HOLE(1), index: HOLE(0), logprobs: null, finish_reason: HOLE(2) }], ...tail },
    (json) => `data: ${json}\n\n`,
  );

  function* events() {
    if (ctx.azure) yield promptFilterChunk();
    // Peek one piece ahead so the last content chunk of each choice can carry finish_reason "stop".
    const iters = Array.from({ length: n }, (_, i) => pieces(reply, i));
    const ahead = iters.map((it) => it.next());
    let sent = 0;
    for (let live = n; live > 0; ) {
      live = 0;
      for (let i = 0; i < n; i++) {
        const cur = ahead[i];
        if (cur.done) continue;
        live++;
        const f = fault(reply, sent);
        if (f) {
          yield f === 'cut' ? CUT : openAiStreamError(reply);
          return;
        }
        ahead[i] = iters[i].next();
        yield textChunk(i, cur.value, ahead[i].done ? 'stop' : null);
        sent++;
      }
    }
    const endFault = fault(reply, sent, true);
    if (endFault) {
      yield endFault === 'cut' ? CUT : openAiStreamError(reply);
      return;
    }
    if (includeUsage && reply.usage) yield sseData({ ...base, choices: [], usage: openAiLegacyUsage(reply.usage) });
    yield 'data: [DONE]\n\n';
  }
  await streamSse(ctx, events());
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses API

function responsesUsage(u) {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
}

async function responses(ctx) {
  const { body, reply, model } = ctx;
  const id = 'resp_' + randomHex(48);
  const itemId = 'msg_' + randomHex(48);
  const createdAt = nowSeconds();

  // The response object as the API sends it (the SDK adds `output_text` itself, client-side).
  const responseObject = (status, output, usage) => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: reply.serviceTier ?? 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage,
    user: null,
    metadata: body.metadata ?? {},
  });
  const textPart = (text) => ({ type: 'output_text', annotations: [], logprobs: [], text });
  const messageItem = (status, content) => ({ id: itemId, type: 'message', status, content, role: 'assistant' });
  const finalUsage = reply.usage ? responsesUsage(reply.usage) : null;

  if (!body.stream) {
    const text = choiceText(reply, 0);
    // webSearches: that many web_search_call items before the message, as the web_search tool adds them.
    const searches = Array.from({ length: reply.webSearches ?? 0 }, (_, i) => ({ id: `ws_${i}`, type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'q' } }));
    sendJson(ctx.res, 200, responseObject('completed', [...searches, messageItem('completed', [textPart(text)])], finalUsage), ctx.headers);
    return;
  }

  // Every Responses stream event is `event: <type>` + `data: {type, sequence_number, ...}`.
  let seq = 0;
  const event = (type, fields) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
  const deltaEvent = compileTemplate(
    {
      type: 'response.output_text.delta',
      sequence_number: HOLE(0),
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: HOLE(1),
      logprobs: [],
    },
    (json) => `event: response.output_text.delta\ndata: ${json}\n\n`,
  );

  function* events() {
    yield event('response.created', { response: responseObject('in_progress', [], null) });
    yield event('response.in_progress', { response: responseObject('in_progress', [], null) });
    yield event('response.output_item.added', { output_index: 0, item: messageItem('in_progress', []) });
    yield event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: textPart('') });
    const errorEvent = () =>
      event('error', {
        code: reply.errorType ?? 'server_error',
        message: reply.errorMessage ?? 'The server had an error while processing your request.',
        param: null,
      });
    const parts = [];
    let sent = 0;
    for (const piece of pieces(reply, 0)) {
      const f = fault(reply, sent);
      if (f) {
        yield f === 'cut' ? CUT : errorEvent();
        return;
      }
      yield deltaEvent(seq++, piece);
      parts.push(piece);
      sent++;
    }
    const endFault = fault(reply, sent, true);
    if (endFault) {
      yield endFault === 'cut' ? CUT : errorEvent();
      return;
    }
    const text = parts.join('');
    yield event('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] });
    yield event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: textPart(text) });
    const item = messageItem('completed', [textPart(text)]);
    yield event('response.output_item.done', { output_index: 0, item });
    yield event('response.completed', { response: responseObject('completed', [item], finalUsage) });
  }
  await streamSse(ctx, events());
}

// ---------------------------------------------------------------------------------------------
// OpenAI embeddings

async function embeddings(ctx) {
  const { body, reply, model } = ctx;
  const input = body.input;
  // A list of strings or of token lists is several inputs; a string or one token list is one.
  const count = Array.isArray(input) && input.length > 0 && typeof input[0] !== 'number' ? input.length : 1;
  const dims = Number.isInteger(body.dimensions) && body.dimensions > 0 ? body.dimensions : 8;
  const data = [];
  for (let i = 0; i < count; i++) {
    const vector = Array.from({ length: dims }, (_, d) => Math.fround(Math.sin(i + 1 + d) / 4));
    // The openai SDK asks for base64 (little-endian float32) unless the caller chose a format.
    const embedding =
      body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    data.push({ object: 'embedding', index: i, embedding });
  }
  const out = { object: 'list', data, model };
  if (reply.usage) out.usage = { prompt_tokens: reply.usage.input, total_tokens: reply.usage.input };
  sendJson(ctx.res, 200, out, ctx.headers);
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

/**
 * Anthropic's usage block. Its input_tokens EXCLUDE cache reads and writes, which are reported
 * beside it, whereas our reply's `input` counts every prompt token (as OpenAI's prompt_tokens do).
 */
function anthropicInputUsage(u) {
  return {
    input_tokens: Math.max(0, u.input - u.cached - u.cacheWrite),
    cache_creation_input_tokens: u.cacheWrite,
    cache_read_input_tokens: u.cached,
    cache_creation: {
      ephemeral_5m_input_tokens: Math.max(0, u.cacheWrite - u.cacheWrite1h),
      ephemeral_1h_input_tokens: u.cacheWrite1h,
    },
  };
}

async function anthropicMessages(ctx) {
  const { body, reply, model } = ctx;
  const id = 'msg_' + randomId(24);
  const u = reply.usage;

  const message = (content, stopReason, usage) => {
    const m = { id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null };
    if (usage) m.usage = usage;
    return m;
  };

  if (!body.stream) {
    const usage = u ? { ...anthropicInputUsage(u), output_tokens: u.output, ...(reply.webSearches ? { server_tool_use: { web_search_requests: reply.webSearches } } : {}), service_tier: reply.serviceTier ?? 'standard' } : null;
    sendJson(ctx.res, 200, message([{ type: 'text', text: choiceText(reply, 0) }], 'end_turn', usage), ctx.headers);
    return;
  }

  // Every Anthropic stream event has an `event:` line: the SDK skips data without one.
  const event = (type, data) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  const deltaEvent = compileTemplate(
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: HOLE(0) } },
    (json) => `event: content_block_delta\ndata: ${json}\n\n`,
  );

  function* events() {
    // message_start reports the input side and a provisional output_tokens (1); the final,
    // cumulative output count only comes in message_delta.
    const startUsage = u ? { ...anthropicInputUsage(u), output_tokens: Math.min(1, u.output), service_tier: reply.serviceTier ?? 'standard' } : null;
    yield event('message_start', { type: 'message_start', message: message([], null, startUsage) });
    yield event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    yield event('ping', { type: 'ping' });
    const errorEvent = () =>
      event('error', {
        type: 'error',
        error: { type: reply.errorType ?? 'overloaded_error', message: reply.errorMessage ?? 'Overloaded' },
      });
    let sent = 0;
    for (const piece of pieces(reply, 0)) {
      const f = fault(reply, sent);
      if (f) {
        yield f === 'cut' ? CUT : errorEvent();
        return;
      }
      yield deltaEvent(piece);
      sent++;
    }
    const endFault = fault(reply, sent, true);
    if (endFault) {
      yield endFault === 'cut' ? CUT : errorEvent();
      return;
    }
    yield event('content_block_stop', { type: 'content_block_stop', index: 0 });
    const delta = { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null } };
    if (u) {
      // The API's message_delta usage is cumulative for the whole message: the final output_tokens,
      // and (current API) the same input/cache totals as message_start, never increments.
      // `anthropicDeltaUsage: "output"` sends only output_tokens, like older API versions.
      const { cache_creation: _omit, ...inputTotals } = anthropicInputUsage(u);
      delta.usage = reply.anthropicDeltaUsage === 'output' ? { output_tokens: u.output } : { ...inputTotals, output_tokens: u.output };
    }
    yield event('message_delta', delta);
    yield event('message_stop', { type: 'message_stop' });
  }
  await streamSse(ctx, events());
}

// ---------------------------------------------------------------------------------------------
// Errors

const OPENAI_ERRORS = {
  400: ['invalid_request_error', null, 'Invalid request.'],
  401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.'],
  403: ['invalid_request_error', 'unsupported_country_region_territory', 'Country, region, or territory not supported'],
  404: ['invalid_request_error', 'model_not_found', 'The model does not exist or you do not have access to it.'],
  429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again in 0ms.'],
  500: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
  503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
};

const ANTHROPIC_ERRORS = {
  400: ['invalid_request_error', 'Invalid request.'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  500: ['api_error', 'Internal server error'],
  529: ['overloaded_error', 'Overloaded'],
};

function openAiErrorBody(message, type, code) {
  return { error: { message, type, param: null, code } };
}

function sendError(ctx, family) {
  const { reply } = ctx;
  const status = reply.status;
  if (family === 'azure') {
    sendJson(ctx.res, status, azureErrorFor(status, reply), ctx.headers);
    return;
  }
  if (family === 'anthropic') {
    const [type, message] = ANTHROPIC_ERRORS[status] ?? (status >= 500 ? ANTHROPIC_ERRORS[500] : ANTHROPIC_ERRORS[400]);
    // The API also echoes the request id in the error body.
    const body = { type: 'error', error: { type: reply.errorType ?? type, message: reply.errorMessage ?? message }, request_id: ctx.headers['request-id'] };
    sendJson(ctx.res, status, body, ctx.headers);
    return;
  }
  const [type, code, message] = OPENAI_ERRORS[status] ?? (status >= 500 ? OPENAI_ERRORS[500] : OPENAI_ERRORS[400]);
  const body = openAiErrorBody(reply.errorMessage ?? message, reply.errorType ?? type, reply.errorCode !== undefined ? reply.errorCode : code);
  sendJson(ctx.res, status, body, ctx.headers);
}

/**
 * The fault to inject before content piece number `sent` ('error' for `errorEvent`, 'cut' for
 * `cutAfter`), or null. With `atEnd` (all content sent), a fault that has not fired yet fires now:
 * a cutAfter beyond the content still drops the connection before the stream's proper end.
 */
function fault(reply, sent, atEnd = false) {
  // errorEvent: a number = after that many content pieces; true = after 2.
  const errorAfter = typeof reply.errorEvent === 'number' ? reply.errorEvent : 2;
  if (reply.errorEvent != null && reply.errorEvent !== false && (atEnd || sent === errorAfter)) return 'error';
  if (reply.cutAfter != null && (atEnd || sent === reply.cutAfter)) return 'cut';
  return null;
}

/** How an OpenAI chat/completions stream reports a mid-stream failure: a data line with `error`. */
function openAiStreamError(reply) {
  return sseData(
    openAiErrorBody(
      reply.errorMessage ?? 'The server had an error while processing your request. Sorry about that!',
      reply.errorType ?? 'server_error',
      reply.errorCode ?? null,
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res, status, value, headers = {}) {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Writes an SSE body from a (synchronous) generator of event strings. Events are concatenated and
 * written in ~64 KB batches; when the socket's buffer is full we wait for 'drain', so a 50,000-chunk
 * stream costs a few dozen writes and no timers. A client that goes away stops the generator.
 */
async function streamSse(ctx, events, contentType = 'text/event-stream; charset=utf-8') {
  const { res } = ctx;
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  res.writeHead(200, {
    ...ctx.headers,
    'content-type': contentType,
    'cache-control': 'no-cache',
  });
  res.flushHeaders();

  let batch = '';
  for (const ev of events) {
    if (closed) return;
    if (ev === CUT) {
      // Drop the connection mid-body: flush what was produced, then destroy the socket, so the
      // client gets partial content and no terminating chunk (no [DONE], no usage, no stop event).
      await new Promise((resolve) => (batch ? res.write(batch, () => resolve()) : resolve()));
      res.socket?.destroy();
      return;
    }
    batch += ev;
    if (batch.length >= BATCH_CHARS) {
      const ok = res.write(batch);
      batch = '';
      if (!ok) await drainOrClose(res);
    }
  }
  if (closed) return;
  res.end(batch);
}

function drainOrClose(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function sseData(value) {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/**
 * Serialises `shape` once and returns a function that fills its holes, so a streamed event costs
 * a string concatenation instead of a JSON.stringify of the whole object. Key order (and so the
 * bytes on the wire) is exactly what JSON.stringify(shape-with-values) would give.
 */
function compileTemplate(shape, wrap) {
  const json = JSON.stringify(shape);
  // JSON.stringify writes the NUL characters of a hole as the six characters \u0000.
  const re = /"\\u0000HOLE(\d+)\\u0000"/g;
  const literals = [];
  const holes = [];
  let last = 0;
  for (const m of json.matchAll(re)) {
    literals.push(json.slice(last, m.index));
    holes.push(Number(m[1]));
    last = m.index + m[0].length;
  }
  literals.push(json.slice(last));
  const whole = wrap('\u0001');
  const [before, after] = whole.split('\u0001');
  return (...values) => {
    let out = before + literals[0];
    for (let k = 0; k < holes.length; k++) out += JSON.stringify(values[holes[k]]) + literals[k + 1];
    return out + after;
  };
}

/** A placeholder for compileTemplate; JSON.stringify escapes it to a recognisable string. */
function HOLE(n) {
  return `\u0000HOLE${n}\u0000`;
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomId(length) {
  const bytes = randomBytes(length);
  let s = '';
  for (let i = 0; i < length; i++) s += ALNUM[bytes[i] % ALNUM.length];
  return s;
}

function randomHex(length) {
  return randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);
}

function requestId() {
  return 'req_' + randomId(24);
}
