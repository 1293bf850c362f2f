/**
 * Asking an OpenAI stream for usage on the client's behalf, and taking back out exactly what
 * that added, so the client receives the bytes it would have received without the proxy. Pure.
 *
 * With `stream_options.include_usage`, OpenAI (and compatible servers) add `"usage":null` to
 * every chunk and send one more chunk with `"choices":[]` and the usage before `[DONE]`. The
 * stripper drops that chunk's event whole and cuts the `usage` member out of every other
 * chunk's bytes, leaving every other byte (key order, spacing, escapes) untouched.
 */
import { parseData } from './meter.js';
import { fieldOf, isBlank } from './sse.js';

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
const QUOTED_USAGE = Buffer.from('"usage"');
const BACKSLASH = 0x5c;

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/**
 * `json` (bytes from..to) without its top-level member `key`, as bytes, or null when it has
 * none. One pass over the object, tracking strings and nesting, so a "usage" inside a string or
 * a nested object is never touched. The comma before the member goes with it (after it, for
 * the first member).
 */
export function withoutTopLevelMember(json: Buffer, from: number, to: number, key: string): Buffer | null {
  const quotedKey = key === 'usage' ? QUOTED_USAGE : Buffer.from(`"${key}"`);
  let depth = 0;
  for (let i = from; i < to; i++) {
    const b = json[i];
    if (b === QUOTE) {
      const stringEnd = endOfString(json, i, to);
      if (depth === 1 && stringEnd - i === quotedKey.length && json.compare(quotedKey, 0, quotedKey.length, i, stringEnd) === 0) {
        let colon = stringEnd;
        while (isSpace(json[colon])) colon++;
        if (json[colon] === 0x3a) return cutMember(json, from, to, i, endOfValue(json, colon + 1, to));
      }
      i = stringEnd - 1;
    } else if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) depth--;
  }
  return null;
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

function cutMember(json: Buffer, from: number, to: number, keyStart: number, valueEnd: number): Buffer {
  let before = keyStart - 1;
  while (before >= from && isSpace(json[before])) before--;
  if (json[before] === 0x2c) {
    // From the end of the previous value, so the spaces around the comma go too.
    let start = before;
    while (start > from && isSpace(json[start - 1])) start--;
    return Buffer.concat([json.subarray(0, start), json.subarray(valueEnd)]);
  }
  // The first member: take the comma after it, and the spaces up to the next member.
  let after = valueEnd;
  while (after < to && isSpace(json[after])) after++;
  if (json[after] === 0x2c) {
    after++;
    while (after < to && isSpace(json[after])) after++;
    return Buffer.concat([json.subarray(0, keyStart), json.subarray(after)]);
  }
  return Buffer.concat([json.subarray(0, keyStart), json.subarray(valueEnd)]);
}

/**
 * Undoes include_usage in an OpenAI chat or legacy completion stream, a line at a time: each
 * line is decided (forward, edit or drop) as soon as it is complete, so nothing waits for more
 * than its own line. Every data line's payload is parsed once and handed to `onData` for the
 * meter.
 */
export class UsageStripper {
  private dropping = false;

  /** The bytes to forward for this line (null: drop it). */
  line(line: Buffer, onData: (payload: unknown) => void): Buffer | null {
    if (this.dropping) {
      // The rest of the dropped usage chunk's event, up to and including its blank line.
      if (isBlank(line)) this.dropping = false;
      return null;
    }
    const field = fieldOf(line);
    if (field?.name !== 'data') return line;
    const payload = parseData(field.value.toString('utf8'));
    onData(payload);
    if (typeof payload !== 'object' || payload === null || !('usage' in payload)) return line;
    const { usage, choices } = payload as { usage: unknown; choices: unknown };
    if (usage !== null && Array.isArray(choices) && choices.length === 0) {
      this.dropping = true;
      return null;
    }
    const from = field.value.byteOffset - line.byteOffset;
    return withoutTopLevelMember(line, from, from + field.value.length, 'usage') ?? line;
  }
}
