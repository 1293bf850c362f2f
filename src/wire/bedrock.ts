/**
 * Amazon Bedrock runtime on the wire, for the metering proxy: the four operations' responses read
 * into the CallOutcome `run` would have made, in two small layers.
 *
 * - Bytes -> event-stream messages: `EventStreamReader`, chunks pushed as they arrive (a frame
 *   may be split anywhere, or several may share a chunk); framing by @smithy/core's
 *   `getChunkedStream`, frames (prelude, headers, CRCs) decoded by @smithy/eventstream-codec.
 * - Messages -> usage, model, text: `StreamMeter`s over named events (the `:event-type` is the
 *   event name), like the SSE meters: `converse-stream` events, and InvokeModel's `chunk` events
 *   whose `bytes` hold an Anthropic stream event (or another vendor's JSON).
 *
 * Usage from every place Bedrock reports it: the Anthropic body's `usage` (cache reads and writes
 * on top of input) else the `x-amzn-bedrock-*-token-count` headers; an invoke stream's
 * `message_start`/`message_delta` (cumulative: replaced, never summed) else the
 * `amazon-bedrock-invocationMetrics` of its last chunk; Converse's `usage`; ConverseStream's
 * `metadata` event.
 */
import type { EventStreamCodec, Message } from '@smithy/eventstream-codec';
import { bedrockConverseUsage, bedrockInvocationUsage } from '../normalise.js';
import type { CallOutcome, ProviderFailure } from '../providers/types.js';
import { anthropicMessagesWire } from './anthropic-messages.js';
import { arrayOf, endFailure, Gathered, object, parseBytes, text, whole, type BodyEnd, type Json, type SentText, type StreamMeter, type WireFormat } from './read.js';

/** The four Bedrock runtime operations, as the last segment of their path names them. */
export type BedrockOperation = 'invoke' | 'invoke-with-response-stream' | 'converse' | 'converse-stream';

const OPERATIONS: ReadonlySet<string> = new Set(['invoke', 'invoke-with-response-stream', 'converse', 'converse-stream']);

/** What a request path says: the operation and the model id (decoded: an ARN keeps its ':' and '/'). */
export interface BedrockTarget {
  operation: BedrockOperation;
  modelId: string;
  stream: boolean;
  /** The wire format of its bodies: Anthropic messages JSON inside InvokeModel (for Claude), or Converse. */
  api: 'messages' | 'converse';
}

/**
 * Reads `/model/{modelId}/{operation}` (after any base path prefix). Null for any other path, and
 * for a model id that is not valid percent-encoding or hides a path separator once decoded twice.
 */
export function bedrockTargetOf(path: string): BedrockTarget | null {
  const match = /\/model\/([^/?#]+)\/([a-z-]+)(?:[?#]|$)/.exec(path);
  if (!match || !OPERATIONS.has(match[2] as string)) return null;
  let modelId: string;
  try {
    modelId = decodeURIComponent(match[1] as string);
  } catch {
    return null;
  }
  if (!modelId) return null;
  const operation = match[2] as BedrockOperation;
  return {
    operation,
    modelId,
    stream: operation.endsWith('stream'),
    api: operation.startsWith('invoke') ? 'messages' : 'converse',
  };
}

/** Response headers as a fetch `Headers`, or Node's lower-cased record. */
export type HeadersLike = Headers | Record<string, string | string[] | number | undefined>;

function headerOf(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  if (Array.isArray(value)) return value.join(',');
  return value === undefined || value === null ? undefined : String(value);
}

/** Bedrock's own token counts of an InvokeModel response, from its headers; null when it sent none. */
export function invokeHeaderUsage(headers: HeadersLike): ReturnType<typeof bedrockInvocationUsage> {
  return bedrockInvocationUsage({
    input: headerOf(headers, 'x-amzn-bedrock-input-token-count'),
    output: headerOf(headers, 'x-amzn-bedrock-output-token-count'),
    cacheRead: headerOf(headers, 'x-amzn-bedrock-cache-read-input-token-count'),
    cacheWrite: headerOf(headers, 'x-amzn-bedrock-cache-write-input-token-count'),
  });
}

/** An `amazon-bedrock-invocationMetrics` object's counts as usage. */
export function invocationMetricsUsage(metrics: unknown): ReturnType<typeof bedrockInvocationUsage> {
  const m = object(metrics);
  if (!m) return null;
  return bedrockInvocationUsage({ input: m['inputTokenCount'], output: m['outputTokenCount'], cacheRead: m['cacheReadInputTokenCount'], cacheWrite: m['cacheWriteInputTokenCount'] });
}

/**
 * AWS's error: the type from `x-amzn-errortype` ("ThrottlingException:http://internal..."), else
 * the body's `__type`/`code`; the message from the body's `message` (or `Message`).
 */
export function awsErrorFailure(status: number, headers: HeadersLike, body: Json | null, fallback: string): ProviderFailure {
  const typeHeader = headerOf(headers, 'x-amzn-errortype')?.split(':')[0];
  const bodyType = (text(body?.['__type']) || text(body?.['code'])).split('#').pop();
  const type = typeHeader || bodyType;
  const message = text(body?.['message']) || text(body?.['Message']) || fallback;
  return { kind: 'http', status, message, ...(type ? { type } : {}) };
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();
// Loaded with the first event stream, not with the wire formats: exec and proxy start without them.
let framing: Promise<{ codec: EventStreamCodec; getChunkedStream: typeof import('@smithy/core/event-streams').getChunkedStream }> | null = null;
function loadFraming() {
  return (framing ??= Promise.all([import('@smithy/eventstream-codec'), import('@smithy/core/event-streams')]).then(([{ EventStreamCodec }, { getChunkedStream }]) => ({
    codec: new EventStreamCodec(
      (bytes) => utf8Decoder.decode(bytes),
      (input) => utf8Encoder.encode(input),
    ),
    getChunkedStream,
  })));
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A whole (non-streamed) InvokeModel or Converse response, success or error. InvokeModel's
 * usage is the Anthropic body's, else the x-amzn-bedrock-*-token-count headers (every vendor's
 * InvokeModel has those); Converse's is its `usage`. `model`: the body's (Anthropic), else null.
 */
export function bedrockBodyOutcome(operation: 'invoke' | 'converse', status: number, headers: HeadersLike, body: Uint8Array | string, end: BodyEnd): CallOutcome {
  const textBody = typeof body === 'string' ? body : utf8Decoder.decode(body);
  let json: Json | null = null;
  try {
    json = object(JSON.parse(textBody));
  } catch {
    json = null;
  }
  if (status < 200 || status >= 300) {
    const plain = textBody.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
    return { text: [], model: null, usage: null, failure: awsErrorFailure(status, headers, json, plain || `HTTP ${status} with an empty body`) };
  }
  const got = new Gathered();
  if (operation === 'invoke') {
    if (json) {
      got.setModel(json['model']);
      anthropicMessagesWire.readBody(json, got);
      if (!got.usage) addVendorText(json, got);
    }
    got.usage ??= invokeHeaderUsage(headers);
  } else if (json) bedrockConverseWire.readBody(json, got);
  if (!json && !got.usage) {
    return { text: [], model: null, usage: null, failure: endFailure(end, null) ?? { kind: 'stream-error', message: 'malformed response: the body is not a JSON object' } };
  }
  return got.outcome(end, null);
}

/** The text of a non-Anthropic InvokeModel body (Llama, Titan, Mistral, Cohere, legacy Claude completions), for an estimate. */
function addVendorText(json: Json, got: Gathered): void {
  got.add(0, json['generation']);
  got.add(0, json['completion']);
  got.add(0, json['outputText']);
  for (const r of arrayOf(json['results'])) got.add(0, object(r)?.['outputText']);
  for (const o of arrayOf(json['outputs'])) got.add(0, object(o)?.['text']);
  for (const g of arrayOf(json['generations'])) got.add(0, object(g)?.['text']);
}

// ---------------------------------------------------------------------------------------------
// Bytes -> event-stream messages

/** A queue of byte chunks read as an async iterable: what getChunkedStream takes. */
class ChunkQueue implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | null = null;

  push(chunk: Uint8Array): void {
    if (this.ended || chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) yield chunk;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}

/** One decoded event-stream message, its headers reduced to the strings Bedrock uses. */
export interface StreamMessage {
  /** ':message-type': 'event', 'exception' or 'error'. */
  messageType: string;
  /** ':event-type' of an event, ':exception-type' of an exception, ':error-code' of an error. */
  type: string;
  /** ':error-message' of an error frame. */
  errorMessage?: string;
  payload: Buffer;
}

function stringHeader(message: Message, name: string): string {
  const header = message.headers[name];
  return header?.type === 'string' ? header.value : '';
}

/**
 * Reads `application/vnd.amazon.eventstream` bytes pushed in chunks of any size, and calls
 * `onMessage` once per whole frame, in order. A bad frame (wrong CRC, impossible length) or a
 * stream that ends inside a frame makes `done()` resolve with the reason; nothing after it is read.
 */
export class EventStreamReader {
  private readonly queue = new ChunkQueue();
  private readonly finished: Promise<string | null>;

  constructor(onMessage: (message: StreamMessage) => void) {
    this.finished = (async () => {
      try {
        const { codec, getChunkedStream } = await loadFraming();
        for await (const frame of getChunkedStream(this.queue)) {
          const message = codec.decode(frame);
          const messageType = stringHeader(message, ':message-type') || 'event';
          const type = stringHeader(message, messageType === 'exception' ? ':exception-type' : messageType === 'error' ? ':error-code' : ':event-type');
          const errorMessage = stringHeader(message, ':error-message');
          onMessage({ messageType, type, payload: toBuffer(message.body), ...(errorMessage ? { errorMessage } : {}) });
        }
        return null;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    })();
  }

  /** Bytes as they arrive; a frame may be split anywhere across pushes. */
  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
  }

  /** The body ended: resolves once every frame is read, with null, or with why the bytes were not a whole event stream. */
  done(): Promise<string | null> {
    this.queue.end();
    return this.finished;
  }
}

/** A streamed Bedrock response read from its bytes: the meter the proxy feeds as it relays. */
export interface BedrockStreamMeter {
  push(chunk: Uint8Array): void;
  /** After the last push: what the stream reported, and a failure if it did not end as it should. */
  outcome(end: BodyEnd): Promise<CallOutcome>;
}

/** The meter of an InvokeModelWithResponseStream or ConverseStream response body. */
export function bedrockStreamMeter(operation: 'invoke-with-response-stream' | 'converse-stream'): BedrockStreamMeter {
  const meter = operation === 'converse-stream' ? new ConverseStreamMeter() : new InvokeStreamMeter();
  let failure: ProviderFailure | undefined;
  const reader = new EventStreamReader((message) => {
    if (failure) return;
    if (message.messageType === 'event') meter.raw(message.type, message.payload);
    else failure = streamFailure(message);
  });
  return {
    push: (chunk) => reader.push(chunk),
    async outcome(end) {
      const broken = await reader.done();
      const outcome = meter.outcome(end);
      if (failure) return { ...outcome, failure };
      // A stream cut inside a frame is a cut stream, already said by `end` or by the missing last event.
      if (broken && end === 'complete' && !/truncated/i.test(broken)) return { ...outcome, failure: { kind: 'stream-error', message: `malformed event stream: ${broken}` } };
      return outcome;
    },
  };
}

/** An exception or error frame: AWS ends a failed stream with one (modelStreamErrorException, throttlingException, ...). */
function streamFailure(message: StreamMessage): ProviderFailure {
  const body = object(parseBytes(message.payload));
  const type = message.type ? message.type.charAt(0).toUpperCase() + message.type.slice(1) : undefined;
  return { kind: 'stream-error', message: text(body?.['message']) || text(body?.['Message']) || message.errorMessage || 'the stream ended with an error', ...(type ? { type } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Messages -> usage

/**
 * InvokeModelWithResponseStream: every `chunk` event's `bytes` is base64 of the model's own
 * stream event. Anthropic events go to the Anthropic meter (message_start, then cumulative
 * message_delta); the last chunk's `amazon-bedrock-invocationMetrics` stands in for usage the
 * events did not bring (and is every other vendor's usage). Other vendors' streams end with that
 * last chunk.
 */
class InvokeStreamMeter implements StreamMeter {
  private readonly anthropic = anthropicMessagesWire.meter();
  private readonly other = new Gathered();
  private isAnthropic = false;
  /** Whether a message_delta brought the final counts (message_start's output_tokens is only 1). */
  private finalUsage = false;
  private metrics: ReturnType<typeof invocationMetricsUsage> = null;

  raw(event: string, data: Buffer): void {
    if (event === 'chunk') this.data(parseBytes(data));
  }

  data(payload: unknown): void {
    const bytes = text(object(payload)?.['bytes']);
    if (!bytes) return;
    const inner = object(parseBytes(Buffer.from(bytes, 'base64')));
    if (!inner) return;
    const metrics = invocationMetricsUsage(inner['amazon-bedrock-invocationMetrics']);
    if (metrics) this.metrics = metrics;
    if (typeof inner['type'] === 'string') {
      this.isAnthropic = true;
      if (inner['type'] === 'message_delta' && object(inner['usage'])) this.finalUsage = true;
      this.anthropic.data(inner);
    } else addVendorText(inner, this.other);
  }

  outcome(end: BodyEnd): CallOutcome {
    if (this.isAnthropic) {
      const outcome = this.anthropic.outcome(end);
      if (this.finalUsage || !this.metrics) return outcome;
      const { partialUsage: _partial, ...rest } = outcome;
      return { ...rest, usage: this.metrics };
    }
    this.other.usage = this.metrics;
    return this.other.outcome(end, this.metrics ? null : 'amazon-bedrock-invocationMetrics');
  }
}

/** ConverseStream: messageStart, contentBlockDelta…, contentBlockStop, messageStop, then metadata (usage, metrics). */
class ConverseStreamMeter implements StreamMeter {
  private readonly got = new Gathered();
  private ended = false;

  raw(event: string, data: Buffer): void {
    this.event(event, parseBytes(data));
  }

  /** Without its name, an event is told by its fields. */
  data(payload: unknown): void {
    const p = object(payload);
    if (!p) return;
    const name = p['usage'] !== undefined || p['metrics'] !== undefined ? 'metadata' : p['delta'] !== undefined ? 'contentBlockDelta' : p['stopReason'] !== undefined ? 'messageStop' : '';
    this.event(name, p);
  }

  private event(name: string, payload: unknown): void {
    const p = object(payload);
    if (!p) return;
    switch (name) {
      case 'contentBlockDelta': {
        const delta = object(p['delta']);
        this.got.add(0, delta?.['text']);
        this.got.add(0, object(delta?.['reasoningContent'])?.['text']);
        this.got.add(0, object(delta?.['toolUse'])?.['input']);
        break;
      }
      case 'metadata':
        this.got.usage = bedrockConverseUsage(p['usage']) ?? this.got.usage;
        this.ended = true;
        break;
    }
  }

  outcome(end: BodyEnd): CallOutcome {
    return this.got.outcome(end, this.ended ? null : 'the metadata event');
  }
}

/** Converse and ConverseStream requests and Converse response bodies. */
export const bedrockConverseWire: WireFormat = {
  meter: () => new ConverseStreamMeter(),
  readBody(json, got) {
    got.usage = bedrockConverseUsage(json['usage']);
    const message = object(object(json['output'])?.['message']);
    for (const block of arrayOf(message?.['content'])) {
      const b = object(block);
      got.add(0, b?.['text']);
      got.add(0, object(object(b?.['reasoningContent'])?.['reasoningText'])?.['text']);
      const toolInput = object(b?.['toolUse'])?.['input'];
      if (toolInput !== undefined) got.add(0, JSON.stringify(toolInput));
    }
  },
  sentText: (json): SentText => ({
    messages: [
      ...arrayOf(json['system']).map((s) => ({ role: 'system', content: text(object(s)?.['text']) })).filter((m) => m.content),
      ...arrayOf(json['messages']).map((m) => ({ role: text(object(m)?.['role']) || 'user', content: converseContentText(object(m)?.['content']) })),
    ],
  }),
  maxOutput: (json) => whole(object(json['inferenceConfig'])?.['maxTokens']),
};

/** A Converse message's text: its text blocks (images, documents and cache points count nothing). */
function converseContentText(content: unknown): string {
  return arrayOf(content)
    .map((block) => text(object(block)?.['text']))
    .join('');
}
