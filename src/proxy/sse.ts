/**
 * Server-sent events read from raw bytes, in two small layers: bytes -> lines -> events.
 *
 * Work per chunk is proportional to the chunk: only its new bytes are searched for line
 * ends, and a line split across chunks is joined once, when its end arrives. Lines are kept
 * as bytes (subarrays, not copies), so a caller that forwards them forwards the exact bytes.
 * Lines end at \n (a \r before it is dropped when reading fields); OpenAI and Anthropic
 * never end lines with a bare \r.
 */

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/** Splits a byte stream into lines, each with its terminator. */
export class LineSplitter {
  private pending: Buffer[] = [];

  /** Calls `onLine` for every line the chunk completes, in order. */
  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1; end = chunk.indexOf(LF, start)) {
      const piece = chunk.subarray(start, end + 1);
      if (this.pending.length === 0) onLine(piece);
      else {
        this.pending.push(piece);
        onLine(Buffer.concat(this.pending));
        this.pending = [];
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

/** One dispatched event: its `event:` name ('' when none was given) and its data. */
export interface SseEvent {
  event: string;
  data: string;
}

/** The field of one line: name and value, without the terminator or the one optional space. */
export function fieldOf(line: Buffer): { name: string; value: Buffer } | null {
  let end = line.length;
  if (end > 0 && line[end - 1] === LF) end--;
  if (end > 0 && line[end - 1] === CR) end--;
  if (end === 0 || line[0] === COLON) return null;
  const colon = line.indexOf(COLON);
  if (colon === -1 || colon >= end) return { name: line.toString('latin1', 0, end), value: line.subarray(end, end) };
  const valueStart = line[colon + 1] === SPACE ? colon + 2 : colon + 1;
  return { name: line.toString('latin1', 0, colon), value: line.subarray(Math.min(valueStart, end), end) };
}

/** True for an empty line (just its terminator): the end of an event. */
export function isBlank(line: Buffer): boolean {
  return line.length === 0 || line[0] === LF || (line[0] === CR && (line.length === 1 || line[1] === LF));
}

/**
 * Assembles lines into events, after the SSE spec: `data:` lines join with \n, a blank line
 * dispatches, comments and other fields are skipped. With `wants`, an event whose `event:`
 * line comes first and is not wanted has its data neither decoded nor returned, so large
 * events nobody reads (Responses' `response.output_text.done`) cost a byte search only.
 */
export class SseReader {
  private event = '';
  private data: string[] = [];
  private skip = false;

  constructor(private readonly wants?: (event: string) => boolean) {}

  /** Feeds one line; returns the event it completes, if any. */
  line(line: Buffer): SseEvent | null {
    if (isBlank(line)) return this.dispatch();
    const field = fieldOf(line);
    if (!field) return null;
    if (field.name === 'data') {
      if (!this.skip) this.data.push(field.value.toString('utf8'));
    } else if (field.name === 'event') {
      this.event = field.value.toString('utf8');
      this.skip = this.wants !== undefined && !this.wants(this.event);
    }
    return null;
  }

  // An event still open when the stream ends is never dispatched, as the spec says.
  private dispatch(): SseEvent | null {
    const skipped = this.skip;
    const event: SseEvent | null = !skipped && this.data.length ? { event: this.event, data: this.data.length === 1 ? (this.data[0] as string) : this.data.join('\n') } : null;
    this.event = '';
    this.data = [];
    this.skip = false;
    return event;
  }
}
