/**
 * What a call's response says about it, read off the wire: model, reported usage, the text
 * (only for an estimate when no usage came), and how it failed. Pure: plain JSON in, a
 * CallOutcome out, the same shape the SDK-based providers return, so recordOf treats a
 * proxied call exactly like one made by `run`.
 */
import { anthropicCumulativeUsage, anthropicUsage, openAIChatUsage, openAIResponsesUsage } from '../normalise.js';
import type { CallOutcome, ProviderFailure } from '../providers/types.js';
import type { RecordApi } from '../record.js';
import type { Usage } from '../usage.js';

type Json = Record<string, unknown>;

/** OpenAI's end-of-stream `data: [DONE]`. */
export const DONE: unique symbol = Symbol('[DONE]');

/** How a response body ended: cleanly, cut off upstream, or abandoned by the client. */
export type BodyEnd = 'complete' | 'cut' | 'aborted';

export interface StreamMeter {
  /** The events worth decoding, by `event:` name; undefined: all of them. */
  readonly wants?: (event: string) => boolean;
  /** One event's data: a parsed JSON value, or DONE. */
  data(payload: unknown): void;
  /**
   * One event as it came: its name and its data's bytes, and the parsed data if the caller
   * already has it. Lazy: only events that can carry usage, an error or the end are parsed
   * now; text deltas wait, and are parsed only if no usage comes and the text must be counted.
   * The outcome is the same as feeding every event to `data`, except that its text is left
   * empty when usage came (text is read only for an estimate). `flags`: classify(data), when
   * the caller has it already.
   */
  raw(event: string, data: Buffer, parsed?: unknown, flags?: number): void;
  outcome(end: BodyEnd): CallOutcome;
}

/** An event's data as the meters take it; undefined when it is not JSON. */
export function parseData(data: string): unknown {
  if (data === '[DONE]') return DONE;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

const DONE_BYTES = Buffer.from('[DONE]');

/** True when an event's data is `[DONE]`. */
export function isDone(data: Buffer): boolean {
  return data.length === 6 && data[0] === 0x5b && data[1] === 0x44 && data[5] === 0x5d && data.equals(DONE_BYTES);
}

/** parseData for bytes. */
export function parseBytes(data: Buffer): unknown {
  if (isDone(data)) return DONE;
  return parseData(data.toString('utf8'));
}

/** What a chunk's bytes may hold, from one pass over them (see classify). */
export const USAGE_KEY = 1;
export const USAGE_OBJECT = 2;
export const ERROR_KEY = 4;
export const IS_DONE = 8;

const Q = 0x22;
const USAGE = [0x75, 0x73, 0x61, 0x67, 0x65, Q]; // usage"
const ERROR = [0x65, 0x72, 0x72, 0x6f, 0x72, Q]; // error"

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function spells(data: Buffer, at: number, word: readonly number[]): boolean {
  for (let i = 0; i < word.length; i++) if (data[at + i] !== word[i]) return false;
  return true;
}

/**
 * One pass over an event's data: does it hold a `"usage"` key (and is any of them an object,
 * not null), an `"error"` key, or is it `[DONE]`? Strings are not tracked, so a "usage" inside
 * one is a false alarm that costs a parse, never a missed usage.
 */
export function classify(data: Buffer): number {
  if (isDone(data)) return IS_DONE;
  let flags = 0;
  for (let at = 0; at < data.length; at++) {
    if (data[at] !== Q) continue;
    if (spells(data, at + 1, USAGE)) {
      flags |= USAGE_KEY;
      let i = at + 1 + USAGE.length;
      while (isSpace(data[i])) i++;
      if (data[i] !== 0x3a) continue;
      i++;
      while (isSpace(data[i])) i++;
      if (data[i] === 0x7b) flags |= USAGE_OBJECT;
    } else if (spells(data, at + 1, ERROR)) flags |= ERROR_KEY;
  }
  return flags;
}

/** Text deltas held unparsed (bytes), until the text is needed or they grow past a bound. */
class Deferred {
  private parts: Buffer[] = [];
  private bytes = 0;
  /** Past this, deltas are parsed as they come: memory stays bounded on a very long stream. */
  static readonly LIMIT = 1 << 20;

  get length(): number {
    return this.parts.length;
  }

  /** Holds `data`; true when the holding is full and should be drained. */
  add(data: Buffer): boolean {
    this.parts.push(data);
    this.bytes += data.length;
    return this.bytes > Deferred.LIMIT;
  }

  drain(each: (payload: unknown) => void): void {
    const { parts } = this;
    this.parts = [];
    this.bytes = 0;
    for (const part of parts) each(parseBytes(part));
  }
}

function object(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** What arrived so far: text per choice (as pieces, joined once at the end), model, usage. */
class Gathered {
  pieces: string[][] = [[]];
  model: string | null = null;
  usage: Usage | null = null;
  partialUsage: Usage | undefined;
  failure: ProviderFailure | undefined;

  add(choice: number, piece: unknown): void {
    if (typeof piece !== 'string' || piece === '') return;
    while (this.pieces.length <= choice) this.pieces.push([]);
    this.pieces[choice]?.push(piece);
  }

  setModel(value: unknown): void {
    if (typeof value === 'string' && value) this.model = value;
  }

  /** The outcome; `unfinished` names the terminal event a complete body lacked, if it did. */
  outcome(end: BodyEnd, unfinished: string | null): CallOutcome {
    const failure = this.failure ?? endFailure(end, unfinished);
    const outcome: CallOutcome = { text: this.pieces.map((p) => p.join('')), model: this.model, usage: this.usage };
    if (this.partialUsage && !this.usage) outcome.partialUsage = this.partialUsage;
    if (failure) outcome.failure = failure;
    return outcome;
  }
}

function endFailure(end: BodyEnd, unfinished: string | null): ProviderFailure | undefined {
  if (end === 'aborted') return { kind: 'aborted', message: 'the client closed the connection before the response ended' };
  if (end === 'cut') return { kind: 'stream-cut', message: 'the provider closed the connection before the response ended' };
  return unfinished ? { kind: 'stream-cut', message: `stream ended before ${unfinished}` } : undefined;
}

/** The provider's error object (OpenAI `{error:{…}}`, Anthropic `{type:'error', error:{…}}`) as a failure. */
function errorFailure(body: Json, kind: ProviderFailure['kind'], status?: number): ProviderFailure {
  const error = object(body['error']) ?? body;
  const type = text(error['type']) || text(error['code']);
  const failure: ProviderFailure = { kind, message: text(error['message']) || 'the provider reported an error' };
  if (status !== undefined) failure.status = status;
  if (type && type !== 'error') failure.type = type;
  return failure;
}

/** OpenAI chat completions and legacy completions streams (`data: {chunk}` … `data: [DONE]`). */
class OpenAIStreamMeter implements StreamMeter {
  private readonly got = new Gathered();
  private readonly opened = new Set<number>();
  private readonly finished = new Set<number>();
  private done = false;
  /** Every chunk since the last drain, in order, usage chunks included (see raw). */
  private readonly pending = new Deferred();

  constructor(private readonly api: 'chat' | 'completions') {}

  raw(_event: string, data: Buffer, parsed?: unknown, flags = classify(data)): void {
    if (flags & IS_DONE || parsed === DONE) {
      this.done = true;
      return;
    }
    // A chunk with usage or an error is read now, for those only; its text and finish_reason
    // are read with all the others, in order, if they are ever needed.
    // The first chunk is read for the model too (the usage chunk may not name it).
    if (parsed !== undefined || flags & (USAGE_OBJECT | ERROR_KEY) || this.got.model === null) {
      const chunk = object(parsed ?? parseBytes(data));
      if (chunk?.['error'] !== undefined) this.got.failure = errorFailure(chunk, 'stream-error');
      else if (chunk) {
        this.got.setModel(chunk['model']);
        if (object(chunk['usage'])) this.got.usage = openAIChatUsage(chunk['usage']);
      }
    }
    if (this.pending.add(data)) this.drain();
  }

  private drain(): void {
    this.pending.drain((payload) => this.data(payload));
  }

  data(payload: unknown): void {
    if (payload === DONE) {
      this.done = true;
      return;
    }
    const chunk = object(payload);
    if (!chunk) return;
    if (chunk['error'] !== undefined) {
      this.got.failure = errorFailure(chunk, 'stream-error');
      return;
    }
    this.got.setModel(chunk['model']);
    if (object(chunk['usage'])) this.got.usage = openAIChatUsage(chunk['usage']);
    const choices = chunk['choices'];
    if (!Array.isArray(choices)) return;
    for (const c of choices) {
      const choice = object(c);
      if (!choice) continue;
      const index = typeof choice['index'] === 'number' ? choice['index'] : 0;
      this.opened.add(index);
      if (choice['finish_reason']) this.finished.add(index);
      if (this.api === 'completions') {
        this.got.add(index, choice['text']);
        continue;
      }
      const delta = object(choice['delta']);
      if (!delta) continue;
      this.got.add(index, delta['content']);
      this.got.add(index, delta['refusal']);
      const calls = delta['tool_calls'];
      if (Array.isArray(calls)) for (const call of calls) this.got.add(index, object(object(call)?.['function'])?.['arguments']);
    }
  }

  outcome(end: BodyEnd): CallOutcome {
    // The text is read only for an estimate (no usage), the finish reasons only without [DONE].
    if (this.pending.length && (!this.got.usage || !this.done)) this.drain();
    // Some OpenAI-compatible servers omit [DONE]: a finish_reason on every choice is as good.
    const allFinished = this.opened.size > 0 && [...this.opened].every((i) => this.finished.has(i));
    return this.got.outcome(end, this.done || allFinished ? null : '[DONE]');
  }
}

const ANTHROPIC_EVENTS = new Set(['', 'message_start', 'content_block_delta', 'message_delta', 'message_stop', 'error']);

/** Anthropic Messages streams: usage in message_start, then cumulative totals in message_delta. */
/**
 * The meters of streams whose events are named (Anthropic, Responses): the named text deltas
 * wait unparsed, the rest are read as they come; the stream is finished by `lastEvent`.
 */
abstract class NamedEventMeter implements StreamMeter {
  abstract readonly wants: (event: string) => boolean;
  protected readonly got = new Gathered();
  /** Set by `data` when the last event came. */
  protected ended = false;
  private readonly deltas = new Deferred();

  constructor(
    private readonly deltaEvents: ReadonlySet<string>,
    private readonly lastEvent: string,
  ) {}

  abstract data(payload: unknown): void;

  raw(event: string, data: Buffer, parsed?: unknown): void {
    if (parsed === undefined && this.deltaEvents.has(event)) {
      if (this.deltas.add(data)) this.drain();
    } else this.data(parsed ?? parseBytes(data));
  }

  outcome(end: BodyEnd): CallOutcome {
    if (!this.got.usage) this.drain();
    return this.got.outcome(end, this.ended ? null : this.lastEvent);
  }

  private drain(): void {
    this.deltas.drain((payload) => this.data(payload));
  }
}

class AnthropicStreamMeter extends NamedEventMeter {
  readonly wants = (event: string) => ANTHROPIC_EVENTS.has(event);
  private wire: Json | null = null;

  constructor() {
    super(new Set(['content_block_delta']), 'message_stop');
  }

  data(payload: unknown): void {
    const event = object(payload);
    if (!event) return;
    switch (event['type']) {
      case 'message_start': {
        const message = object(event['message']);
        this.got.setModel(message?.['model']);
        this.wire = anthropicCumulativeUsage(null, message?.['usage']);
        // Only the input side is final here; kept in case the stream breaks before message_delta.
        this.got.partialUsage = anthropicUsage(this.wire) ?? undefined;
        break;
      }
      case 'content_block_delta': {
        const delta = object(event['delta']);
        this.got.add(0, delta?.['text']);
        this.got.add(0, delta?.['thinking']);
        this.got.add(0, delta?.['partial_json']);
        break;
      }
      case 'message_delta':
        // Cumulative: replace, never add.
        this.wire = anthropicCumulativeUsage(this.wire, event['usage']);
        this.got.usage = anthropicUsage(this.wire);
        break;
      case 'message_stop':
        this.ended = true;
        break;
      case 'error':
        this.got.failure = errorFailure(event, 'stream-error');
        break;
    }
  }
}

const RESPONSES_EVENTS = new Set([
  '',
  'response.created',
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.completed',
  'response.incomplete',
  'response.failed',
  'error',
]);

/** OpenAI Responses streams: usage only in the final response.completed (or .incomplete/.failed). */
const RESPONSES_DELTAS = new Set(['response.output_text.delta', 'response.refusal.delta', 'response.function_call_arguments.delta']);

class ResponsesStreamMeter extends NamedEventMeter {
  readonly wants = (event: string) => RESPONSES_EVENTS.has(event);

  constructor() {
    super(RESPONSES_DELTAS, 'response.completed');
  }

  data(payload: unknown): void {
    const event = object(payload);
    if (!event) return;
    const type = event['type'];
    switch (type) {
      case 'response.created':
        this.got.setModel(object(event['response'])?.['model']);
        break;
      case 'response.output_text.delta':
      case 'response.refusal.delta':
      case 'response.function_call_arguments.delta':
        this.got.add(0, event['delta']);
        break;
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed': {
        const response = object(event['response']);
        this.got.setModel(response?.['model']);
        this.got.usage = openAIResponsesUsage(response?.['usage']);
        this.ended = true;
        const error = object(response?.['error']);
        if (type === 'response.failed') this.got.failure = errorFailure(error ? { error } : {}, 'stream-error');
        break;
      }
      case 'error':
        this.got.failure = errorFailure(event, 'stream-error');
        break;
    }
  }
}

/** The meter of one streamed call. */
export function streamMeter(api: RecordApi): StreamMeter {
  switch (api) {
    case 'completions':
      return new OpenAIStreamMeter('completions');
    case 'messages':
      return new AnthropicStreamMeter();
    case 'responses':
      return new ResponsesStreamMeter();
    case 'chat':
    case 'embeddings': // never streams; an OpenAI-shaped reader is the closest guess
      return new OpenAIStreamMeter('chat');
  }
}

/**
 * The outcome of a whole (non-streamed) response body, success or error. An error body that
 * is not JSON (a gateway's HTML page) becomes its first few hundred characters.
 */
export function bodyOutcome(api: RecordApi, status: number, body: string, end: BodyEnd): CallOutcome {
  const got = new Gathered();
  let json: Json | null = null;
  try {
    json = object(JSON.parse(body));
  } catch {
    json = null;
  }
  if (status < 200 || status >= 300) {
    const failure = json ? errorFailure(json, 'http', status) : { kind: 'http' as const, status, message: nonJsonMessage(body, status) };
    return { text: [], model: null, usage: null, failure };
  }
  if (!json) {
    const failure = endFailure(end, null) ?? { kind: 'stream-error', message: 'malformed response: the body is not a JSON object' };
    return { text: [], model: null, usage: null, failure };
  }
  got.setModel(json['model']);
  switch (api) {
    case 'chat':
    case 'completions':
    case 'embeddings':
      got.usage = openAIChatUsage(json['usage']);
      for (const [i, c] of arrayOf(json['choices']).entries()) {
        const choice = object(c);
        const message = object(choice?.['message']);
        got.add(i, api === 'completions' ? choice?.['text'] : message?.['content']);
        for (const call of arrayOf(message?.['tool_calls'])) got.add(i, object(object(call)?.['function'])?.['arguments']);
      }
      break;
    case 'responses':
      got.usage = openAIResponsesUsage(json['usage']);
      for (const item of arrayOf(json['output'])) {
        for (const part of arrayOf(object(item)?.['content'])) got.add(0, object(part)?.['text']);
        got.add(0, object(item)?.['arguments']);
      }
      break;
    case 'messages':
      got.usage = anthropicUsage(json['usage']);
      for (const block of arrayOf(json['content'])) {
        const b = object(block);
        got.add(0, b?.['text']);
        got.add(0, b?.['thinking']);
        if (b?.['type'] === 'tool_use' && b['input'] !== undefined) got.add(0, JSON.stringify(b['input']));
      }
      break;
  }
  return got.outcome(end, null);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
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

/**
 * What a request sent, text only, for an estimate when the provider reports no usage (read
 * only then): chat-shaped messages, or legacy completion prompts and embedding inputs.
 */
export function sentText(api: RecordApi, body: unknown): { messages?: { role: string; content: string }[]; texts?: string[] } {
  const json = object(body) ?? {};
  const message = (m: unknown, content: unknown = object(m)?.['content']) => ({ role: text(object(m)?.['role']) || 'user', content: contentText(content) });
  switch (api) {
    case 'chat':
      return { messages: arrayOf(json['messages']).map((m) => message(m)) };
    case 'messages':
      return {
        messages: [...(json['system'] !== undefined ? [{ role: 'system', content: contentText(json['system']) }] : []), ...arrayOf(json['messages']).map((m) => message(m))],
      };
    case 'responses': {
      const items = typeof json['input'] === 'string' ? [{ role: 'user', content: json['input'] }] : arrayOf(json['input']);
      return {
        messages: [
          ...(typeof json['instructions'] === 'string' ? [{ role: 'system', content: json['instructions'] }] : []),
          ...items.map((m) => message(m, object(m)?.['content'] ?? object(m)?.['output'])),
        ],
      };
    }
    case 'completions':
    case 'embeddings': {
      const prompt = json[api === 'completions' ? 'prompt' : 'input'];
      return { texts: typeof prompt === 'string' ? [prompt] : arrayOf(prompt).filter((p): p is string => typeof p === 'string') };
    }
  }
}

/** The text of a message's content: a string, or the text of its parts (images and files count nothing). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  return arrayOf(content)
    .map((part) => text(object(part)?.['text']))
    .join('');
}
