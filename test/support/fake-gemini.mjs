// The Gemini API half of the fake provider (mounted by ./fake-provider.mjs): which requests are
// Gemini's, its key check (x-goog-api-key header or ?key= query), its error format
// `{"error":{"code","message","status"}}`, and generateContent / streamGenerateContent replies:
// SSE with alt=sse (`data: {chunk}\r\n\r\n`, as Google sends it), else one JSON array of the
// chunks. Every chunk carries usageMetadata with the counts so far; the last has the final
// counts and the candidate's finishReason.
//
// The reply's usage maps onto usageMetadata: `input` is every prompt token (promptTokenCount +
// toolUsePromptTokenCount), `cached` its cachedContentTokenCount, `output` every output token
// (candidatesTokenCount + thoughtsTokenCount), `reasoning` the thoughtsTokenCount, `toolUse` the
// toolUsePromptTokenCount.
//
// Paths: /{v1beta|v1|v1alpha}/models/{model}:generateContent|streamGenerateContent, and the
// OpenAI-compatible /v1beta/openai/chat/completions (answered by the fake's OpenAI handler).

const GEMINI = /^\/(v1beta|v1|v1alpha)\/models\/([^/]+):(generateContent|streamGenerateContent)$/;

/** Google's error body. */
export function googleError(code, status, message, details) {
  return { error: { code, message, status, ...(details ? { details } : {}) } };
}

const STATUS_NAMES = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };
const MESSAGES = {
  400: 'Request contains an invalid argument.',
  403: 'The caller does not have permission',
  404: 'models/unknown is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.',
  429: 'You exceeded your current quota, please check your plan and billing details.',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
};

/** The error Google gives for a reply status. */
export function geminiErrorFor(status, reply) {
  const known = STATUS_NAMES[status] ? status : status >= 500 ? 500 : 400;
  return googleError(status, reply.errorType ?? STATUS_NAMES[known], reply.errorMessage ?? MESSAGES[known]);
}

/**
 * What a request is, for Gemini: null when it is not one; `{ reject }` when Google would refuse
 * it (no key, a wrong key); `{ kind: 'generate', model, stream, sse }`; or `{ kind: 'openai' }`
 * for the OpenAI-compatible chat endpoint. `keys.apiKey`: the one key accepted (any non-empty
 * one when unset).
 */
export function geminiRoute(method, url, headers, keys = {}) {
  const native = GEMINI.exec(url.pathname);
  const compat = url.pathname === '/v1beta/openai/chat/completions';
  if (method !== 'POST' || (!native && !compat)) return null;
  const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
  const key = compat ? bearer : (headers['x-goog-api-key'] ?? url.searchParams.get('key') ?? undefined);
  if (!key) {
    return { reject: { status: 403, body: googleError(403, 'PERMISSION_DENIED', 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.') } };
  }
  if (keys.apiKey !== undefined && key !== keys.apiKey) {
    const details = [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } }];
    return { reject: { status: 400, body: googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', details) } };
  }
  if (compat) return { kind: 'openai' };
  return { kind: 'generate', model: decodeURIComponent(native[2]), stream: native[3] === 'streamGenerateContent', sse: url.searchParams.get('alt') === 'sse' };
}

/** usageMetadata for `done` of `total` output pieces (the final counts when done === total). */
export function usageMetadata(u, done = 1, total = 1) {
  const toolUse = u.toolUse ?? 0;
  const prompt = u.input - toolUse;
  const thoughts = u.reasoning;
  const candidates = Math.floor(((u.output - thoughts) * done) / Math.max(1, total));
  const m = { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: u.input + candidates + thoughts };
  if (u.cached) m.cachedContentTokenCount = u.cached;
  if (toolUse) m.toolUsePromptTokenCount = toolUse;
  if (thoughts) m.thoughtsTokenCount = thoughts;
  m.promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
  if (u.cached) m.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: u.cached }];
  return m;
}

/**
 * Answers a generateContent or streamGenerateContent request. `h`: the fake's helpers
 * (pieces, choiceText, fault, sendJson, streamSse, CUT, responseId).
 */
export async function geminiReply(ctx, route, h) {
  const { reply } = ctx;
  const n = Number.isInteger(ctx.body?.generationConfig?.candidateCount) ? ctx.body.generationConfig.candidateCount : 1;
  const modelVersion = reply.model ?? route.model.replace(/^models\//, '');
  const responseId = h.responseId();
  const u = reply.usage;
  const chunk = (candidates, usage) => ({ candidates, ...(usage ? { usageMetadata: usage } : {}), modelVersion, responseId });
  const candidate = (i, text, finishReason) => ({ content: { parts: [{ text }], role: 'model' }, ...(finishReason ? { finishReason } : {}), index: i });

  if (!route.stream) {
    const candidates = Array.from({ length: n }, (_, i) => candidate(i, h.choiceText(reply, i), 'STOP'));
    h.sendJson(ctx.res, 200, chunk(candidates, u ? usageMetadata(u) : null), ctx.headers);
    return;
  }

  // One chunk per piece of the first candidate (the others, if any, come whole in the last chunk).
  const parts = [...h.pieces(reply, 0)];
  const chunks = [];
  let cut = null;
  for (const [k, piece] of parts.entries()) {
    const f = h.fault(reply, k);
    if (f) {
      cut = f;
      break;
    }
    const last = k === parts.length - 1 && !h.fault(reply, k + 1, true);
    const candidates = [candidate(0, piece, last ? 'STOP' : null)];
    if (last) for (let i = 1; i < n; i++) candidates.push(candidate(i, h.choiceText(reply, i), 'STOP'));
    chunks.push(chunk(candidates, u ? usageMetadata(u, k + 1, parts.length) : null));
  }
  if (!cut) cut = h.fault(reply, chunks.length, true);
  const errorChunk = { error: { code: 500, message: reply.errorMessage ?? MESSAGES[500], status: reply.errorType ?? 'INTERNAL' } };

  if (route.sse) {
    function* events() {
      for (const c of chunks) yield `data: ${JSON.stringify(c)}\r\n\r\n`;
      if (cut === 'cut') yield h.CUT;
      else if (cut === 'error') yield `data: ${JSON.stringify(errorChunk)}\r\n\r\n`;
    }
    await h.streamSse({ ...ctx, headers: { ...ctx.headers } }, events(), 'text/event-stream');
    return;
  }
  // Without alt=sse: a JSON array, pretty-printed and written chunk by chunk, as Google does.
  function* arrayParts() {
    for (const [k, c] of chunks.entries()) yield `${k === 0 ? '[' : '\n,\r\n'}${JSON.stringify(c, null, 2)}`;
    if (cut === 'cut') {
      yield h.CUT;
      return;
    }
    if (cut === 'error') yield `${chunks.length ? '\n,\r\n' : '['}${JSON.stringify(errorChunk, null, 2)}`;
    yield chunks.length || cut === 'error' ? '\n]' : '[]';
  }
  await h.streamSse(ctx, arrayParts(), 'application/json; charset=UTF-8');
}
