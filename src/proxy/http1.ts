/**
 * HTTP/1.1 messages read incrementally from raw bytes (RFC 9112), as much of the protocol as a
 * reverse proxy needs: a head, then the body its framing says (content-length, chunked, until
 * close, or none), handed on in pieces as the bytes arrive. Pure: bytes in, callbacks out.
 *
 * Strict where leniency would let two parties disagree on where a message ends (request
 * smuggling): both content-length and transfer-encoding, an unknown transfer coding, a
 * malformed length or chunk size, and bare LF or obs-fold in a head are all errors.
 */

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const LF_LF = Buffer.from('\n\n');
/** The most a head may take (request line or status line plus headers). */
export const MAX_HEAD_BYTES = 64 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export class HttpParseError extends Error {
  constructor(
    message: string,
    /** The status to answer with, for a request. */
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface Head {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  /** [name, value, name, value, …] as sent. */
  rawHeaders: string[];
  /** Lower-cased names; repeated fields joined with ", " (set-cookie too: never needed here). */
  headers: Record<string, string>;
}

export interface RequestHead extends Head {
  method: string;
  target: string;
}

export interface ResponseHead extends Head {
  status: number;
  reason: string;
}

/** How a message's body is delimited. */
export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export interface MessageEvents<H> {
  /** The head; returns the body's framing (a response's depends on the request). */
  head(head: H): Framing;
  body(bytes: Buffer): void;
  /** The message is complete; the reader stops here until `next()`. */
  end(): void;
}

function parseFields(lines: string[], from: number): { rawHeaders: string[]; headers: Record<string, string> } {
  const rawHeaders: string[] = [];
  const headers: Record<string, string> = {};
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpParseError(line.startsWith(' ') || line.startsWith('\t') ? 'obsolete line folding in a header' : 'malformed header line');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpParseError('malformed header name');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw new HttpParseError('malformed header value');
    rawHeaders.push(name, value);
    const lower = name.toLowerCase();
    const seen = headers[lower];
    headers[lower] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return { rawHeaders, headers };
}

function minorOf(version: string | undefined): 0 | 1 {
  if (version === 'HTTP/1.1') return 1;
  if (version === 'HTTP/1.0') return 0;
  throw new HttpParseError(`unsupported protocol ${JSON.stringify(version ?? '')}`, 505);
}

export function parseRequestHead(text: string): RequestHead {
  const lines = text.split('\r\n');
  const parts = (lines[0] ?? '').split(' ');
  if (parts.length !== 3 || !TOKEN.test(parts[0] as string) || !parts[1]) throw new HttpParseError('malformed request line');
  if (/[\x00-\x20\x7f]/.test(parts[1])) throw new HttpParseError('malformed request target');
  return { method: parts[0] as string, target: parts[1], minor: minorOf(parts[2]), ...parseFields(lines, 1) };
}

export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const line = lines[0] ?? '';
  const m = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/.exec(line);
  if (!m) throw new HttpParseError('malformed status line');
  return { status: Number(m[2]), reason: m[3] ?? '', minor: minorOf(m[1]), ...parseFields(lines, 1) };
}

/**
 * A body's framing from its headers (RFC 9112 §6.3): chunked, a length, or `otherwise` (none
 * for a request, until close for a response).
 */
export function framingOf(headers: Record<string, string>, otherwise: Framing): Framing {
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    if (cl !== undefined) throw new HttpParseError('both transfer-encoding and content-length');
    if (te.trim().toLowerCase() !== 'chunked') throw new HttpParseError(`unsupported transfer-encoding ${JSON.stringify(te)}`, 501);
    return { kind: 'chunked' };
  }
  if (cl !== undefined) {
    // Repeated identical values ("5, 5") are allowed; anything else is not.
    const values = new Set(cl.split(',').map((v) => v.trim()));
    const [only] = values;
    if (values.size !== 1 || only === undefined || !/^\d{1,15}$/.test(only)) throw new HttpParseError('malformed content-length');
    const length = Number(only);
    return length === 0 ? { kind: 'none' } : { kind: 'length', length };
  }
  return otherwise;
}

type State = 'head' | 'length' | 'size' | 'data' | 'data-end' | 'trailer' | 'close' | 'done' | 'failed';

/**
 * Reads messages from a byte stream, one at a time: after each message's end it holds any
 * further bytes until `next()` (a pipelined request waits for the response before it).
 */
export class MessageReader<H extends Head> {
  private state: State = 'head';
  private buffered: Buffer | null = null;
  private remaining = 0;
  /** Inside `steps`: a `next()` from a callback continues the loop instead of recursing. */
  private stepping = false;

  constructor(
    private readonly parseHead: (text: string) => H,
    private readonly on: MessageEvents<H>,
  ) {}

  /** True between a message's end and `next()`. */
  get waiting(): boolean {
    return this.state === 'done';
  }

  /** True while a message is part-way through (its head or its body). */
  get midMessage(): boolean {
    return this.state !== 'done' && this.state !== 'failed' && (this.state !== 'head' || (this.buffered?.length ?? 0) > 0);
  }

  /** Bytes held for later (after the current message, or an incomplete head). */
  get heldBytes(): number {
    return this.buffered?.length ?? 0;
  }

  /** Feeds bytes; throws HttpParseError on a malformed message (the reader is then unusable). */
  push(chunk: Buffer): void {
    if (this.state === 'failed') return;
    this.buffered = this.buffered && this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    if (this.state !== 'done') this.run();
  }

  /** Goes on to the next message, reading what was held. */
  next(): void {
    if (this.state !== 'done') return;
    this.state = 'head';
    if (!this.stepping) this.run();
  }

  /** The connection ended: a body delimited by its close is complete; anything else was cut. */
  close(): 'complete' | 'cut' | 'idle' {
    if (this.state === 'close') {
      this.finish();
      return 'complete';
    }
    return this.midMessage ? 'cut' : 'idle';
  }

  private run(): void {
    this.stepping = true;
    try {
      this.steps();
    } catch (error) {
      this.state = 'failed';
      this.buffered = null;
      throw error;
    } finally {
      this.stepping = false;
    }
  }

  private steps(): void {
    for (;;) {
      const b = this.buffered;
      if (b === null || (b.length === 0 && this.state !== 'head')) return;
      switch (this.state) {
        case 'head': {
          if (b.length === 0) return;
          const end = b.indexOf(HEAD_END);
          if (end === -1) {
            if (b.length > MAX_HEAD_BYTES) throw new HttpParseError('header section too large', 431);
            // A head ended by bare LFs would otherwise wait here for a CRLF that never comes.
            if (b.indexOf(LF_LF) !== -1) throw new HttpParseError('bare LF in a header section');
            return;
          }
          if (end > MAX_HEAD_BYTES) throw new HttpParseError('header section too large', 431);
          // Leading empty lines before a request line are allowed (RFC 9112 §2.2).
          let start = 0;
          while (b[start] === 0x0d && b[start + 1] === 0x0a) start += 2;
          const text = b.toString('latin1', start, end);
          if (text.includes('\n') && /[^\r]\n/.test(text)) throw new HttpParseError('bare LF in a header section');
          this.buffered = b.subarray(end + 4);
          const framing = this.on.head(this.parseHead(text));
          this.begin(framing);
          break;
        }
        case 'length': {
          const take = Math.min(b.length, this.remaining);
          this.remaining -= take;
          this.buffered = b.subarray(take);
          this.on.body(take === b.length ? b : b.subarray(0, take));
          if (this.remaining === 0) this.finish();
          break;
        }
        case 'close':
          this.buffered = null;
          this.on.body(b);
          return;
        case 'size': {
          const eol = b.indexOf(CRLF);
          if (eol === -1) {
            if (b.length > 1024) throw new HttpParseError('malformed chunk size');
            return;
          }
          const line = b.toString('latin1', 0, eol);
          const semi = line.indexOf(';');
          const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new HttpParseError('malformed chunk size');
          this.remaining = parseInt(hex, 16);
          this.buffered = b.subarray(eol + 2);
          this.state = this.remaining === 0 ? 'trailer' : 'data';
          break;
        }
        case 'data': {
          const take = Math.min(b.length, this.remaining);
          this.remaining -= take;
          this.buffered = b.subarray(take);
          this.on.body(take === b.length ? b : b.subarray(0, take));
          if (this.remaining === 0) this.state = 'data-end';
          break;
        }
        case 'data-end': {
          if (b.length < 2) return;
          if (b[0] !== 0x0d || b[1] !== 0x0a) throw new HttpParseError('malformed chunk');
          this.buffered = b.subarray(2);
          this.state = 'size';
          break;
        }
        case 'trailer': {
          // Trailer fields are read past and dropped: nothing here uses them.
          const eol = b.indexOf(CRLF);
          if (eol === -1) {
            if (b.length > MAX_HEAD_BYTES) throw new HttpParseError('trailer section too large');
            return;
          }
          this.buffered = b.subarray(eol + 2);
          if (eol === 0) this.finish();
          break;
        }
        case 'done':
        case 'failed':
          return;
      }
    }
  }

  private begin(framing: Framing): void {
    switch (framing.kind) {
      case 'none':
        this.finish();
        return;
      case 'length':
        this.state = 'length';
        this.remaining = framing.length;
        return;
      case 'chunked':
        this.state = 'size';
        return;
      case 'close':
        this.state = 'close';
        return;
    }
  }

  private finish(): void {
    this.state = 'done';
    this.on.end();
  }
}

/** A head as bytes: the start line, then the raw header list. */
export function serializeHead(startLine: string, rawHeaders: readonly string[]): string {
  let out = `${startLine}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) out += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return `${out}\r\n`;
}

const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** `bytes` as one chunk of a chunked body. */
export function chunk(bytes: Buffer): Buffer[] {
  return [Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'), bytes, CRLF];
}

export { LAST_CHUNK };
