/**
 * Server-sent events read from raw bytes, in two small layers: bytes -> lines -> events.
 *
 * Work per chunk is proportional to the chunk: only its new bytes are searched for line
 * ends, and a line split across chunks is joined once, when its end arrives. Lines are passed
 * as places in the bytes (buffer, start, end), not copies and not even Buffer objects, so a
 * caller that forwards them forwards the exact bytes, cheaply. Lines end at \n (a \r before
 * it is dropped when reading fields); OpenAI and Anthropic never end lines with a bare \r.
 */

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/** Splits a byte stream into lines, each with its terminator. */
export class LineSplitter {
  private pending: Buffer[] = [];

  /**
   * Calls `onLine(buf, start, end)` for every line the chunk completes, in order: the line is
   * buf[start, end), its \n included. A line wholly inside the chunk is passed in place (no
   * copy, no Buffer object); one split across chunks is joined once, when its end arrives.
   */
  scan(chunk: Buffer, onLine: (buf: Buffer, start: number, end: number) => void): void {
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1; end = chunk.indexOf(LF, start)) {
      if (this.pending.length === 0) onLine(chunk, start, end + 1);
      else {
        this.pending.push(chunk.subarray(start, end + 1));
        const joined = Buffer.concat(this.pending);
        this.pending = [];
        onLine(joined, 0, joined.length);
      }
      start = end + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }

  /** The unterminated tail at the end of the stream, if any (an event it held never completed). */
  rest(): Buffer | null {
    if (this.pending.length === 0) return null;
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    return rest;
  }
}

/** One dispatched event: its `event:` name ('' when none was given) and its data, as bytes. */
export interface SseBytesEvent {
  event: string;
  data: Buffer;
}

/** Where buf[start, end) stops once its line terminator (\n or \r\n) is left off. */
export function contentEnd(buf: Buffer, start: number, end: number): number {
  if (end > start && buf[end - 1] === LF) end--;
  if (end > start && buf[end - 1] === CR) end--;
  return end;
}

const DATA = [0x64, 0x61, 0x74, 0x61]; // data
const EVENT = [0x65, 0x76, 0x65, 0x6e, 0x74]; // event

/**
 * Where the value of field `name` starts in the line buf[start, end) (terminator already left
 * off), or -1 when the line is another field. `name:value`, `name: value` (one space dropped)
 * and a bare `name` (an empty value) all count, after the spec.
 */
export function fieldValueAt(buf: Buffer, start: number, end: number, name: readonly number[]): number {
  const n = name.length;
  if (end - start < n) return -1;
  for (let i = 0; i < n; i++) if (buf[start + i] !== name[i]) return -1;
  const at = start + n;
  if (at === end) return end;
  if (buf[at] !== COLON) return -1;
  return buf[at + 1] === SPACE ? Math.min(at + 2, end) : at + 1;
}

/** The value of a `data:` line, or -1 (see fieldValueAt). */
export function dataValueAt(buf: Buffer, start: number, end: number): number {
  return fieldValueAt(buf, start, end, DATA);
}

/**
 * Assembles lines into events, after the SSE spec: `data:` lines join with \n, a blank line
 * dispatches, comments and other fields are skipped. With `wants`, an event whose `event:`
 * line comes first and is not wanted has its data neither kept nor returned, so large events
 * nobody reads (Responses' `response.output_text.done`) cost a few byte comparisons only.
 */
export class SseReader {
  private event = '';
  /** The event's data lines so far: the first alone (nearly every event has one), the rest after it. */
  private first: Buffer | null = null;
  private more: Buffer[] | null = null;
  private skip = false;

  constructor(private readonly wants?: (event: string) => boolean) {}

  /** Feeds the line buf[start, end); returns the event it completes, its data as bytes. */
  lineAt(buf: Buffer, start: number, end: number): SseBytesEvent | null {
    end = contentEnd(buf, start, end);
    if (end === start) return this.dispatch();
    if (buf[start] === COLON) return null;
    let value = fieldValueAt(buf, start, end, DATA);
    if (value !== -1) {
      if (this.skip) return null;
      const line = buf.subarray(value, end);
      if (this.first === null) this.first = line;
      else (this.more ??= []).push(line);
      return null;
    }
    value = fieldValueAt(buf, start, end, EVENT);
    if (value !== -1) {
      this.event = eventName(buf, value, end);
      this.skip = this.wants !== undefined && !this.wants(this.event);
    }
    return null;
  }

  // An event still open when the stream ends is never dispatched, as the spec says.
  private dispatch(): SseBytesEvent | null {
    const { first, more } = this;
    const event: SseBytesEvent | null = !this.skip && first !== null ? { event: this.event, data: more === null ? first : joinLines([first, ...more]) } : null;
    this.event = '';
    this.first = null;
    this.more = null;
    this.skip = false;
    return event;
  }
}

/**
 * The event names met so far, as bytes and as read: streams name the same few events over and
 * over, so a name is decoded once, not at every event. Bounded, for the names come from
 * upstream: at most MAX_NAMES names of at most MAX_NAME_BYTES each are kept; any other is
 * decoded each time. `lastName` is the kept name met last (the empty name until one is).
 */
const NAMES: { bytes: Buffer; name: string }[] = [];
const MAX_NAMES = 64;
const MAX_NAME_BYTES = 64;
let lastName: { bytes: Buffer; name: string } = { bytes: Buffer.alloc(0), name: '' };

function eventName(buf: Buffer, start: number, end: number): string {
  const length = end - start;
  // The last name met first (a stream's text deltas come in long runs of one name); then the
  // others, compared from their last byte, where names of one family differ (_start, _delta).
  if (sameBytes(buf, start, length, lastName.bytes)) return lastName.name;
  for (const known of NAMES) {
    if (known !== lastName && sameBytes(buf, start, length, known.bytes)) {
      lastName = known;
      return known.name;
    }
  }
  const name = buf.toString('utf8', start, end);
  if (NAMES.length < MAX_NAMES && length <= MAX_NAME_BYTES) NAMES.push((lastName = { bytes: Buffer.from(buf.subarray(start, end)), name }));
  return name;
}

function sameBytes(buf: Buffer, start: number, length: number, known: Buffer): boolean {
  if (known.length !== length) return false;
  for (let i = length - 1; i >= 0; i--) if (buf[start + i] !== known[i]) return false;
  return true;
}

const NEWLINE = Buffer.from('\n');

function joinLines(parts: Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    if (i > 0) out.push(NEWLINE);
    out.push(part);
  }
  return Buffer.concat(out);
}
