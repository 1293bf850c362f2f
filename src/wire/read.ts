/**
 * What every wire format's reader shares: the JSON helpers, the one-pass byte classifier, the
 * deferred text deltas, what a call gathered (text, model, usage, failure), and the
 * `WireFormat` interface each format's file implements. Pure.
 */
import type { UsageExtras } from '../normalise.js';
import type { CallOutcome, ProviderFailure } from '../providers/types.js';
import type { ChatMessage } from '../tokens.js';
import type { Usage } from '../usage.js';

export type Json = Record<string, unknown>;
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
 * one is a false alarm that costs a parse, never a missed usage. A chunk that ends in the
 * `"usage":null` include_usage adds to nearly every chunk is read from its end instead (see
 * lastNullUsage), and then is not searched for a usage object nested elsewhere (Groq's
 * `x_groq.usage`): the meter reads every chunk when no usage has come by the end.
 */
export function classify(data: Buffer): number {
  if (isDone(data)) return IS_DONE;
  if (lastNullUsage(data) !== -1) return USAGE_KEY | (errorFirst(data) ? ERROR_KEY : 0);
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

const USAGE_QUOTED = [Q, ...USAGE];
const ERROR_QUOTED = [Q, ...ERROR];

/**
 * Where the key of a `"usage":null` starts when it is the last member of the object the data is
 * (the closing brace is the data's last byte), else -1; read from the end in a few byte
 * comparisons: the member include_usage adds to every chunk of an OpenAI stream. Its value
 * ends at nullUsageEnd.
 */
export function lastNullUsage(d: Buffer): number {
  let i = d.length - 1;
  while (isSpace(d[i])) i--;
  if (d[i] !== 0x7d) return -1;
  i = nullBefore(d, i - 1);
  if (i === -1) return -1;
  i -= 4;
  while (isSpace(d[i])) i--;
  if (d[i] !== 0x3a) return -1;
  i--;
  while (isSpace(d[i])) i--;
  const keyStart = i - USAGE_QUOTED.length + 1;
  if (keyStart < 0 || !spells(d, keyStart, USAGE_QUOTED)) return -1;
  // A key follows a comma or the opening brace; a quote inside a string follows a backslash.
  let before = keyStart - 1;
  while (isSpace(d[before])) before--;
  return d[before] === 0x2c || d[before] === 0x7b ? keyStart : -1;
}

/** Where the null of lastNullUsage's member ends (just past it). */
export function nullUsageEnd(d: Buffer): number {
  let i = d.length - 1;
  while (isSpace(d[i])) i--;
  return nullBefore(d, i - 1) + 1;
}

/** The index of the last l of a `null` ending at or before `i` (only spaces after it), or -1. */
function nullBefore(d: Buffer, i: number): number {
  while (isSpace(d[i])) i--;
  return d[i] === 0x6c && d[i - 1] === 0x6c && d[i - 2] === 0x75 && d[i - 3] === 0x6e ? i : -1;
}

/** Whether the object the data is has `error` as its first member (as error events are sent). */
export function errorFirst(d: Buffer): boolean {
  let i = 0;
  while (isSpace(d[i])) i++;
  if (d[i] !== 0x7b) return false;
  i++;
  while (isSpace(d[i])) i++;
  return spells(d, i, ERROR_QUOTED);
}

/** Text deltas held unparsed (bytes), until the text is needed or they grow past a bound. */
export class Deferred {
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

  /** Reads the held parts in order until `found` says so, keeping them all held. */
  find(found: (payload: unknown) => boolean): void {
    for (const part of this.parts) if (found(parseBytes(part))) return;
  }

  drain(each: (payload: unknown) => void): void {
    const { parts } = this;
    this.parts = [];
    this.bytes = 0;
    for (const part of parts) each(parseBytes(part));
  }
}

export function object(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A non-negative whole number, or null. */
export function whole(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** What arrived so far: text per choice (as pieces, joined once at the end), model, usage. */
export class Gathered {
  pieces: string[][] = [[]];
  model: string | null = null;
  usage: Usage | null = null;
  partialUsage: Usage | undefined;
  failure: ProviderFailure | undefined;
  /** An id the body gave (Gemini's responseId), where no header gives one. */
  requestId: string | undefined;
  /** The provider's own report of the call's cost (OpenRouter's usage.cost). */
  extras: UsageExtras | undefined;

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
    if (this.extras !== undefined) outcome.extras = this.extras;
    if (failure) outcome.failure = failure;
    if (this.requestId) outcome.requestId = this.requestId;
    return outcome;
  }
}

export function endFailure(end: BodyEnd, unfinished: string | null): ProviderFailure | undefined {
  if (end === 'aborted') return { kind: 'aborted', message: 'the client closed the connection before the response ended' };
  if (end === 'cut') return { kind: 'stream-cut', message: 'the provider closed the connection before the response ended' };
  return unfinished ? { kind: 'stream-cut', message: `stream ended before ${unfinished}` } : undefined;
}

/** The provider's error object (OpenAI `{error:{…}}`, Anthropic `{type:'error', error:{…}}`) as a failure. */
export function errorFailure(body: Json, kind: ProviderFailure['kind'], status?: number): ProviderFailure {
  const error = object(body['error']) ?? body;
  const type = text(error['type']) || text(error['code']);
  const failure: ProviderFailure = { kind, message: text(error['message']) || 'the provider reported an error' };
  if (status !== undefined) failure.status = status;
  if (type && type !== 'error') failure.type = type;
  return failure;
}

/**
 * The meters of streams whose events are named (Anthropic, Responses): the named text deltas
 * wait unparsed, the rest are read as they come; the stream is finished by `lastEvent`.
 */
export abstract class NamedEventMeter implements StreamMeter {
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

/** The text of a message's content: a string, or the text of its parts (images and files count nothing). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  return arrayOf(content)
    .map((part) => text(object(part)?.['text']))
    .join('');
}

/** A chat-shaped message's text: its role, and its content (or `contentOf`'s pick of it). */
export function messageText(m: unknown, content: unknown = object(m)?.['content']): ChatMessage {
  return { role: text(object(m)?.['role']) || 'user', content: contentText(content) };
}

/**
 * A Chat Completions message as the API takes it, every shape kept that the chat formula counts
 * (content parts, tool calls, tool results, names, refusals); anything malformed left out.
 */
export function chatMessage(m: unknown): ChatMessage {
  const json = object(m) ?? {};
  const content = json['content'];
  const message: ChatMessage = { role: text(json['role']) || 'user', content: typeof content === 'string' || Array.isArray(content) ? (content as ChatMessage['content']) : null };
  if (typeof json['name'] === 'string') message.name = json['name'];
  if (Array.isArray(json['tool_calls'])) message.tool_calls = json['tool_calls'].filter((c) => object(c) !== null) as ChatMessage['tool_calls'];
  if (typeof json['tool_call_id'] === 'string') message.tool_call_id = json['tool_call_id'];
  if (object(json['function_call'])) message.function_call = json['function_call'] as ChatMessage['function_call'];
  if (typeof json['refusal'] === 'string') message.refusal = json['refusal'];
  return message;
}

/** What a request sent, text only, for an estimate: chat-shaped messages, or plain texts. */
export interface SentText {
  messages?: ChatMessage[];
  texts?: string[];
}

/**
 * One wire format, as read off the bytes: its streams (`meter`), its whole response bodies
 * (`readBody` fills what a successful body says), and its requests (what they send, and how
 * many output tokens they allow, all choices together; null when they set no bound).
 */
export interface WireFormat {
  meter(): StreamMeter;
  readBody(json: Json, got: Gathered): void;
  sentText(json: Json): SentText;
  maxOutput(json: Json): number | null;
}
