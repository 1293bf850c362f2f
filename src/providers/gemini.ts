/**
 * Gemini's generateContent and streamGenerateContent (SSE, `alt=sse`), with the official
 * `@google/genai` SDK. Several choices are `candidateCount` candidates, each with its index.
 *
 * Usage is `usageMetadata`: on the response, and on every stream chunk with running counts, so
 * the last one is kept (never summed). A stream is complete once a candidate has its
 * `finishReason` (or the prompt was blocked); Gemini sends no other end-of-stream event.
 */
import { ApiError, GoogleGenAI, type GenerateContentParameters, type GenerateContentResponse } from '@google/genai';
import { geminiUsage } from '../normalise.js';
import { GOOGLE_DEFAULT_BASE_URL } from './google.js';
import { attemptLoggingFetch, brokenConnection, causeText, OutcomeBuilder, safeMessage, unfinishedStream } from './transport.js';
import type { CallEvents, CallOutcome, CallSpec, Provider, ProviderFailure } from './types.js';

/** One client per call, every setting passed: the SDK reads none from the environment that we did not check. */
function geminiClient(spec: CallSpec, events?: CallEvents): GoogleGenAI {
  const onLog = events?.onLog;
  return new GoogleGenAI({
    apiKey: spec.apiKey,
    vertexai: false,
    httpOptions: {
      baseUrl: spec.baseURL ?? GOOGLE_DEFAULT_BASE_URL,
      // The SDK retries only when told to (its default is one attempt).
      ...(spec.maxRetries !== undefined && { retryOptions: { attempts: spec.maxRetries + 1 } }),
      // Google's responses carry no request id header; the body's responseId is the id.
      ...(onLog && { fetch: attemptLoggingFetch(onLog, 'x-goog-request-id') }),
    },
  });
}

function params(spec: CallSpec): GenerateContentParameters {
  return {
    model: spec.model,
    contents: [{ role: 'user', parts: [{ text: spec.prompt }] }],
    config: {
      ...(spec.system !== undefined && { systemInstruction: spec.system }),
      ...(spec.maxTokens !== undefined && { maxOutputTokens: spec.maxTokens }),
      ...(spec.temperature !== undefined && { temperature: spec.temperature }),
      ...(spec.n !== undefined && { candidateCount: spec.n }),
      ...(spec.signal && { abortSignal: spec.signal }),
    },
  };
}

/** What one response or chunk brings: each candidate's text (thought summaries left out), model, id, usage. */
function read(response: GenerateContentResponse, out: OutcomeBuilder): boolean {
  let finished = Boolean(response.promptFeedback?.blockReason);
  (response.candidates ?? []).forEach((candidate, position) => {
    const index = candidate.index ?? position;
    for (const part of candidate.content?.parts ?? []) if (part.text && !part.thought) out.append(index, part.text);
    if (candidate.finishReason) finished = true;
  });
  if (response.modelVersion) out.model = response.modelVersion;
  if (response.responseId) out.requestId = response.responseId;
  // Cumulative in a stream: the latest replaces.
  const usage = geminiUsage(response.usageMetadata);
  if (usage) out.usage = usage;
  return finished;
}

async function complete(client: GoogleGenAI, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  read(await client.models.generateContent(params(spec)), out);
}

async function stream(client: GoogleGenAI, spec: CallSpec, out: OutcomeBuilder, started: { value: boolean }): Promise<void> {
  const chunks = await client.models.generateContentStream(params(spec));
  started.value = true;
  let finished = false;
  for await (const chunk of chunks) if (read(chunk, out)) finished = true;
  if (!finished) out.fail(unfinishedStream(spec.signal, 'a finishReason'));
}

/**
 * Google's error, out of the SDK's ApiError, whose message is the error body as JSON
 * (`{"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT"}}`), or "got status: X. {json}"
 * for an error chunk inside a stream.
 */
export function googleError(message: string): { message: string; type?: string } {
  const json = message.slice(message.indexOf('{'));
  try {
    const error = (JSON.parse(json) as { error?: { message?: unknown; status?: unknown } }).error;
    if (error && typeof error.message === 'string') return { message: error.message, ...(typeof error.status === 'string' && error.status ? { type: error.status } : {}) };
  } catch {
    // Not Google's JSON: the message as the SDK gave it.
  }
  return { message };
}

function failureOf(err: unknown, spec: CallSpec, started: boolean): ProviderFailure {
  if (spec.signal?.aborted || (err instanceof Error && err.name === 'AbortError')) return { kind: 'aborted', message: 'request aborted by the caller' };
  if (err instanceof ApiError) {
    const { message, type } = googleError(err.message);
    const failure: ProviderFailure = started ? { kind: 'stream-error', message } : { kind: 'http', status: err.status, message };
    return { ...failure, message: safeMessage(failure.message, spec.apiKey), ...(type ? { type } : {}) };
  }
  if (!(err instanceof Error)) throw err;
  if (started && (brokenConnection(err) || /incomplete json/i.test(err.message))) {
    return { kind: 'stream-cut', message: safeMessage(`connection closed before the response ended (${causeText(err)})`, spec.apiKey) };
  }
  if (!started && err instanceof TypeError) return { kind: 'connection', message: safeMessage(causeText(err), spec.apiKey) };
  if (started) return { kind: 'stream-error', message: safeMessage(`malformed response: ${err.message}`, spec.apiKey) };
  throw err;
}

async function call(spec: CallSpec, events?: CallEvents): Promise<CallOutcome> {
  const out = new OutcomeBuilder(spec.n ?? 1, events);
  const client = geminiClient(spec, events);
  const started = { value: false };
  try {
    await (spec.stream ? stream(client, spec, out, started) : complete(client, spec, out));
  } catch (err) {
    out.fail(failureOf(err, spec, started.value));
  }
  return out.outcome();
}

export const gemini: Provider = { call };
