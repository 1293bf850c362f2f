/**
 * The wire formats the metering proxy reads, one file each, in one table: which API's bytes
 * each reads. Pure: bytes and JSON in, a CallOutcome (the shape the SDK-based providers return)
 * out, so recordOf treats a proxied call exactly like one made by `run`.
 */
import type { CallOutcome } from '../providers/types.js';
import type { RecordApi } from '../record.js';
import { anthropicMessagesWire } from './anthropic-messages.js';
import { bedrockConverseWire } from './bedrock.js';
import { cutArrayChunks, geminiErrorFailure, geminiWire } from './gemini.js';
import { openAIChatWire } from './openai-chat.js';
import { openAICompletionsWire, openAIEmbeddingsWire } from './openai-completions.js';
import { openAIResponsesWire } from './openai-responses.js';
import { endFailure, errorFailure, Gathered, object, text, type BodyEnd, type SentText, type StreamMeter, type WireFormat } from './read.js';

export { classify, DONE, ERROR_KEY, isDone, IS_DONE, parseBytes, parseData, USAGE_KEY, USAGE_OBJECT, type BodyEnd, type StreamMeter } from './read.js';

export const WIRE_FORMATS: Record<RecordApi, WireFormat> = {
  chat: openAIChatWire,
  completions: openAICompletionsWire,
  embeddings: openAIEmbeddingsWire,
  responses: openAIResponsesWire,
  messages: anthropicMessagesWire,
  converse: bedrockConverseWire,
  gemini: geminiWire,
};

/** The meter of one streamed call. */
export function streamMeter(api: RecordApi): StreamMeter {
  return WIRE_FORMATS[api].meter();
}

/**
 * The outcome of a whole (non-streamed) response body, success or error. An error body that
 * is not JSON (a gateway's HTML page) becomes its first few hundred characters.
 */
export function bodyOutcome(api: RecordApi, status: number, body: string, end: BodyEnd): CallOutcome {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = null;
  }
  const json = object(parsed);
  // Gemini's stream without alt=sse is one JSON array of its chunks.
  if (api === 'gemini' && status >= 200 && status < 300) {
    // Cut off mid-array, the chunks that arrived whole still count: their usage was reported.
    const items = Array.isArray(parsed) ? parsed : end !== 'complete' && parsed === null ? cutArrayChunks(body) : null;
    if (items) return geminiWire.arrayBody(items, end);
  }
  if (status < 200 || status >= 300) {
    const failure = json ? (api === 'gemini' ? geminiErrorFailure : errorFailure)(json, 'http', status) : { kind: 'http' as const, status, message: nonJsonMessage(body, status) };
    return { text: [], model: null, usage: null, failure };
  }
  if (!json) {
    const failure = endFailure(end, null) ?? { kind: 'stream-error', message: 'malformed response: the body is not a JSON object' };
    return { text: [], model: null, usage: null, failure };
  }
  const got = new Gathered();
  got.setModel(json['model']);
  WIRE_FORMATS[api].readBody(json, got);
  return got.outcome(end, null);
}

function nonJsonMessage(body: string, status: number): string {
  const plain = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain ? plain.slice(0, 300) : `HTTP ${status} with an empty body`;
}

/** What the proxy needs of every request: the model asked for, and whether it streams. */
export function requestHead(body: unknown): { model: string; stream: boolean } {
  const json = object(body);
  return { model: text(json?.['model']), stream: json?.['stream'] === true };
}

/** What a request sent, text only, for an estimate when the provider reports no usage (read only then). */
export function sentText(api: RecordApi, body: unknown): SentText {
  return WIRE_FORMATS[api].sentText(object(body) ?? {});
}

/** The output tokens a request allows, all choices together; null when it sets no bound. */
export function maxOutputOf(api: RecordApi, body: unknown): number | null {
  const json = object(body);
  return json ? WIRE_FORMATS[api].maxOutput(json) : null;
}
