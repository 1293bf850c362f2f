/**
 * Gemini's generateContent on the wire: whole JSON bodies, `streamGenerateContent?alt=sse`
 * streams (`data: {chunk}` events, no event names, no terminal event), and the same stream
 * without `alt=sse`, one JSON array of the chunks.
 *
 * Every chunk carries `usageMetadata` with the counts so far: the last is final, and replaces
 * the earlier ones (never summed). A stream is whole once a candidate has its `finishReason` (or
 * the prompt was blocked, `promptFeedback.blockReason`). Errors are Google's
 * `{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED"}}`, as a body or as a chunk.
 */
import { geminiUsage } from '../normalise.js';
import type { CallOutcome, ProviderFailure } from '../providers/types.js';
import type { ChatMessage } from '../tokens.js';
import { arrayOf, Gathered, object, parseBytes, text, whole, type BodyEnd, type Json, type StreamMeter, type WireFormat } from './read.js';

/** Google's error object as a failure: its message, and its status name (RESOURCE_EXHAUSTED) as the type. */
export function geminiErrorFailure(body: Json, kind: ProviderFailure['kind'], status?: number): ProviderFailure {
  const error = object(body['error']) ?? body;
  const type = text(error['status']);
  const failure: ProviderFailure = { kind, message: text(error['message']) || 'the provider reported an error' };
  if (status !== undefined) failure.status = status;
  if (type) failure.type = type;
  return failure;
}

/** Reads one response object (a whole body, or a stream chunk) into `got`; true when it ends the response. */
function readChunk(chunk: Json, got: Gathered): boolean {
  got.setModel(chunk['modelVersion']);
  // Google sends no request id header; the body's responseId names the response.
  if (typeof chunk['responseId'] === 'string' && chunk['responseId']) got.requestId = chunk['responseId'];
  const usage = geminiUsage(chunk['usageMetadata']);
  if (usage) got.usage = usage;
  let finished = Boolean(text(object(chunk['promptFeedback'])?.['blockReason']));
  for (const [position, c] of arrayOf(chunk['candidates']).entries()) {
    const candidate = object(c);
    if (!candidate) continue;
    const index = whole(candidate['index']) ?? position;
    for (const p of arrayOf(object(candidate['content'])?.['parts'])) {
      const part = object(p);
      // Thought summaries are billed as thoughts, already in thoughtsTokenCount.
      if (!part || part['thought'] === true) continue;
      got.add(index, part['text']);
      const call = object(part['functionCall']);
      if (call) got.add(index, JSON.stringify(call['args'] ?? {}));
    }
    if (text(candidate['finishReason'])) finished = true;
  }
  return finished;
}

/** A streamGenerateContent response, chunk by chunk (SSE events, or the elements of its JSON array). */
export class GeminiStreamMeter implements StreamMeter {
  private readonly got = new Gathered();
  private finished = false;

  raw(_event: string, data: Buffer, parsed?: unknown): void {
    this.data(parsed ?? parseBytes(data));
  }

  data(payload: unknown): void {
    const chunk = object(payload);
    if (!chunk) return;
    if (chunk['error'] !== undefined) {
      this.got.failure = geminiErrorFailure(chunk, 'stream-error');
      return;
    }
    if (readChunk(chunk, this.got)) this.finished = true;
  }

  outcome(end: BodyEnd): CallOutcome {
    return this.got.outcome(end, this.finished ? null : 'a finishReason');
  }
}

/** The text of a Content's parts (images, files and function responses count nothing). */
function partsText(content: unknown): string {
  const c = object(content);
  if (typeof content === 'string') return content;
  return arrayOf(c?.['parts'])
    .map((p) => text(object(p)?.['text']))
    .join('');
}

/**
 * The whole chunks of a JSON-array stream that was cut off (`[{…},{…},{…` ): the longest prefix
 * that JSON.parse reads as an array once closed, found by trying each of the last few `}` as the
 * end of a chunk. Null when the body is no such prefix.
 */
export function cutArrayChunks(body: string): unknown[] | null {
  if (!body.trimStart().startsWith('[')) return null;
  let end = body.length;
  for (let tries = 0; tries < 64; tries++) {
    end = body.lastIndexOf('}', end - 1);
    if (end === -1) return [];
    try {
      const items: unknown = JSON.parse(`${body.slice(0, end + 1)}]`);
      if (Array.isArray(items)) return items;
    } catch {
      // Not the end of a whole chunk: try the one before.
    }
  }
  return null;
}

export const geminiWire: WireFormat & { arrayBody(items: unknown[], end: BodyEnd): CallOutcome } = {
  meter: () => new GeminiStreamMeter(),
  readBody(json, got) {
    readChunk(json, got);
  },
  /** The stream without alt=sse: one JSON array of the chunks, read as the stream would be. */
  arrayBody(items, end) {
    const meter = new GeminiStreamMeter();
    for (const item of items) meter.data(item);
    return meter.outcome(end);
  },
  sentText(json) {
    const system = json['systemInstruction'] ?? json['system_instruction'];
    const messages: ChatMessage[] = system !== undefined ? [{ role: 'system', content: partsText(system) }] : [];
    for (const c of arrayOf(json['contents'])) messages.push({ role: text(object(c)?.['role']) || 'user', content: partsText(c) });
    return { messages };
  },
  maxOutput(json) {
    const config = object(json['generationConfig']) ?? object(json['generation_config']);
    const max = whole(config?.['maxOutputTokens']) ?? whole(config?.['max_output_tokens']);
    return max === null ? null : max * (whole(config?.['candidateCount']) ?? whole(config?.['candidate_count']) ?? 1);
  },
};
