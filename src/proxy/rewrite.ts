/**
 * Asking an OpenAI stream for usage on the client's behalf, and taking back out exactly what
 * that added, so the client receives the bytes it would have received without the proxy. Pure.
 *
 * With `stream_options.include_usage`, OpenAI (and compatible servers) add `"usage":null` to
 * every chunk and send one more chunk with `"choices":[]` and the usage before `[DONE]`. The
 * stripper drops that chunk's event whole and cuts the `usage` member out of every other
 * chunk's bytes, leaving every other byte (key order, spacing, escapes) untouched.
 */
import { ERROR_KEY as ERROR_KEY_FLAG, isDone, IS_DONE, parseBytes, USAGE_KEY, USAGE_OBJECT, type StreamMeter } from '../wire/index.js';
import { errorFirst, lastNullUsage, nullUsageEnd } from '../wire/read.js';
import { contentEnd, dataValueAt, LineSplitter } from '../wire/sse.js';

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},');

/**
 * The request body with usage asked for, or null when the request is not a stream or already
 * asks for usage. When the body has no stream_options the member is inserted as the first one
 * and the rest of the body is sent byte for byte; otherwise the body is re-serialised.
 */
export function withIncludeUsage(raw: Buffer, body: Record<string, unknown>): Buffer | null {
  if (body['stream'] !== true) return null;
  const options = body['stream_options'];
  if (typeof options === 'object' && options !== null && (options as Record<string, unknown>)['include_usage'] === true) return null;
  if (options === undefined) {
    const open = raw.indexOf(0x7b); // the body is a JSON object, so its first non-space byte is {
    if (open !== -1 && raw.subarray(0, open).every((b) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d)) {
      return Buffer.concat([raw.subarray(0, open + 1), INCLUDE_USAGE, raw.subarray(open + 1)]);
    }
  }
  const merged = typeof options === 'object' && options !== null && !Array.isArray(options) ? { ...(options as object), include_usage: true } : { include_usage: true };
  return Buffer.from(JSON.stringify({ ...body, stream_options: merged }));
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/**
 * One pass over a JSON object: where its top-level member `key` lies (with its comma), whether
 * that member's value is an object, and whether the object also has a top-level `error` member.
 */
export function topLevelMembers(json: Buffer, from: number, to: number, key: string): { span: [number, number] | null; object: boolean; error: boolean } {
  const word = keyBytes(key);
  let depth = 0;
  let span: [number, number] | null = null;
  let object = false;
  let error = false;
  for (let i = from; i < to; i++) {
    const b = json[i];
    if (b === QUOTE) {
      const stringEnd = endOfString(json, i, to);
      if (depth === 1) {
        const length = stringEnd - i - 2;
        if (length === word.length && span === null && spellsAt(json, i + 1, word)) {
          let colon = stringEnd;
          while (isSpace(json[colon])) colon++;
          if (json[colon] === 0x3a) {
            let value = colon + 1;
            while (isSpace(json[value])) value++;
            object = json[value] === 0x7b;
            const valueEnd = endOfValue(json, value, to);
            span = memberSpan(json, from, to, i, valueEnd);
            i = valueEnd - 1;
            continue;
          }
        } else if (length === ERROR_KEY.length && spellsAt(json, i + 1, ERROR_KEY)) error = true;
      }
      i = stringEnd - 1;
    } else if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) depth--;
  }
  return { span, object, error };
}

/**
 * topLevelMembers(data, 0, data.length, 'usage') for a chunk's data, without reading the whole
 * chunk for the one nearly every chunk is: a `"usage":null` that include_usage put as the
 * object's last member, found from the end in a few byte comparisons (reading every byte of
 * every chunk cost a 200-chunk stream a fifth of the proxy's CPU). Anything else gets the whole
 * scan. The one thing the short way does not see: a top-level `error` other than the object's
 * first member, in a chunk that also ends in `"usage":null` (error events are sent as
 * `{"error":{...}}`, and an error first is seen).
 */
export function usageMembers(data: Buffer): { span: [number, number] | null; object: boolean; error: boolean } {
  const key = lastNullUsage(data);
  if (key === -1) return topLevelMembers(data, 0, data.length, 'usage');
  return { span: memberSpan(data, 0, data.length, key, nullUsageEnd(data)), object: false, error: errorFirst(data) };
}

const ERROR_KEY = [...Buffer.from('error')];

const KEY_BYTES = new Map<string, number[]>();

function keyBytes(key: string): number[] {
  let bytes = KEY_BYTES.get(key);
  if (!bytes) KEY_BYTES.set(key, (bytes = [...Buffer.from(key)]));
  return bytes;
}

function spellsAt(json: Buffer, at: number, word: readonly number[]): boolean {
  for (let i = 0; i < word.length; i++) if (json[at + i] !== word[i]) return false;
  return true;
}

/** The index just past the string starting at `start` (its opening quote). */
function endOfString(json: Buffer, start: number, to: number): number {
  for (let i = start + 1; i < to; i++) {
    const b = json[i];
    if (b === BACKSLASH) i++;
    else if (b === QUOTE) return i + 1;
  }
  return to;
}

/** The index just past the value starting at or after `start` (spaces skipped). */
function endOfValue(json: Buffer, start: number, to: number): number {
  let i = start;
  while (isSpace(json[i])) i++;
  let depth = 0;
  for (; i < to; i++) {
    const b = json[i];
    if (b === QUOTE) {
      i = endOfString(json, i, to) - 1;
      if (depth === 0) return i + 1;
    } else if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) {
      if (depth === 0) return i; // the enclosing object closes: a scalar ended before it
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (b === 0x2c || isSpace(b))) return i;
  }
  return to;
}

function memberSpan(json: Buffer, from: number, to: number, keyStart: number, valueEnd: number): [number, number] {
  let before = keyStart - 1;
  while (before >= from && isSpace(json[before])) before--;
  if (json[before] === 0x2c) {
    // From the end of the previous value, so the spaces around the comma go too.
    let start = before;
    while (start > from && isSpace(json[start - 1])) start--;
    return [start, valueEnd];
  }
  // The first member: take the comma after it, and the spaces up to the next member.
  let after = valueEnd;
  while (after < to && isSpace(json[after])) after++;
  if (json[after] === 0x2c) {
    after++;
    while (after < to && isSpace(json[after])) after++;
    return [keyStart, after];
  }
  return [keyStart, valueEnd];
}

const KEEP = 0;
const DROP = 1;
const CUT = 2;

/**
 * Undoes include_usage in an OpenAI chat or legacy completion stream, a line at a time: each
 * line is decided (forward, edit or drop) as soon as it is complete, so nothing waits for more
 * than its own line. Every data line goes to the meter as well, lazily (see StreamMeter.raw).
 */
export class UsageStripper {
  private readonly splitter = new LineSplitter();
  private dropping = false;

  constructor(private readonly meter: StreamMeter) {}

  /** The bytes to forward for this chunk, in pieces (none while a line is incomplete). */
  push(bytes: Buffer): Buffer[] {
    // What goes out, as places in the buffers (no Buffer object a piece): pieces that follow
    // each other in one buffer (kept lines, and the two sides of a cut) are one place.
    const { places } = this;
    places.length = 0;
    const piece = (buf: Buffer, start: number, end: number) => {
      const n = places.length;
      if (n && places[n - 3] === buf && places[n - 1] === start) places[n - 1] = end;
      else if (start < end) places.push(buf, start, end);
    };
    this.splitter.scan(bytes, (buf, start, end) => {
      const kept = this.lineAt(buf, start, end);
      if (kept === KEEP) piece(buf, start, end);
      else if (kept === CUT) {
        piece(buf, start, this.span[0]);
        piece(buf, this.span[1], end);
      }
    });
    if (places.length === 0) return [];
    if (places.length === 3) return [(places[0] as Buffer).subarray(places[1] as number, places[2] as number)];
    let length = 0;
    for (let i = 0; i < places.length; i += 3) length += (places[i + 2] as number) - (places[i + 1] as number);
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    for (let i = 0; i < places.length; i += 3) at += (places[i] as Buffer).copy(out, at, places[i + 1] as number, places[i + 2] as number);
    return [out];
  }

  /** A push's pieces, (buffer, start, end) after each other; reused. */
  private readonly places: (Buffer | number)[] = [];

  /** At the end: a last line without its newline, forwarded as it came. */
  rest(): Buffer | null {
    return this.splitter.rest();
  }

  /**
   * Decides the line buf[start, end) and hands its data to the meter. Only a line that may
   * hold a usage object is parsed here; a `"usage":null` member is cut out by bytes.
   */
  private lineAt(buf: Buffer, start: number, end: number): typeof KEEP | typeof DROP | typeof CUT {
    const stop = contentEnd(buf, start, end);
    if (this.dropping) {
      // The rest of the dropped usage chunk's event, up to and including its blank line.
      if (stop === start) this.dropping = false;
      return DROP;
    }
    const value = stop === start ? -1 : dataValueAt(buf, start, stop);
    if (value === -1) return KEEP;
    const data = buf.subarray(value, stop);
    if (isDone(data)) {
      this.meter.raw('', data, undefined, IS_DONE);
      return KEEP;
    }
    const { span, object, error } = usageMembers(data);
    const flags = (span ? USAGE_KEY : 0) | (object ? USAGE_OBJECT : 0) | (error ? ERROR_KEY_FLAG : 0);
    if (object) {
      const payload = parseBytes(data);
      this.meter.raw('', data, payload, flags);
      const { usage, choices } = (typeof payload === 'object' && payload !== null ? payload : {}) as { usage?: unknown; choices?: unknown };
      if (usage !== null && usage !== undefined && Array.isArray(choices) && choices.length === 0) {
        this.dropping = true;
        return DROP;
      }
    } else this.meter.raw('', data, undefined, flags);
    if (!span) return KEEP;
    // The line around the member: the two sides of it go out.
    this.span[0] = value + span[0];
    this.span[1] = value + span[1];
    return CUT;
  }

  /** Where the member cut from the line last answered CUT lies in it. */
  private readonly span: [number, number] = [0, 0];
}
