/**
 * Headers across the proxy, as raw [name, value, name, value, …] lists so duplicates and
 * spelling survive. Hop-by-hop headers belong to one connection and never cross; everything
 * else, auth included, passes untouched. Pure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { googleKeyIn } from './google.js';

// RFC 9110 §7.6.1, plus the non-standard proxy-connection.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * The names Connection header values list, lower-cased (usually one: keep-alive or close). A
 * plain loop that splits only a list: flatMap and split cost 3.5 us a call under load (perf).
 */
function connectionListed(values: readonly string[]): string[] {
  const names: string[] = [];
  for (const value of values) {
    if (!value.includes(',')) names.push(value.trim().toLowerCase());
    else for (const name of value.split(',')) names.push(name.trim().toLowerCase());
  }
  return names;
}

/** Whether a header, by its lower-cased name, stays on its own side of the proxy. */
function stays(lower: string, listed: readonly string[], drop: readonly string[]): boolean {
  // A pseudo-header (HTTP/2's :path, :authority…) is its framing, like a hop-by-hop header.
  return HOP_BY_HOP.has(lower) || listed.includes(lower) || drop.includes(lower) || lower.charCodeAt(0) === 0x3a;
}

/** Raw headers without hop-by-hop ones and without `drop`, then `add` appended. */
export function relayHeaders(raw: readonly string[], drop: readonly string[] = [], add: readonly [string, string][] = []): string[] {
  const connection: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'connection') connection.push(raw[i + 1] as string);
  const listed = connectionListed(connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!stays(name.toLowerCase(), listed, drop)) out.push(name, raw[i + 1] as string);
  }
  for (const [name, value] of add) out.push(name, value);
  return out;
}

/**
 * A response's headers as undici parsed them (lower-cased names; a repeated one as a list), for
 * the client: end-to-end ones only, as a raw list, in one pass.
 */
export function responseHeaders(headers: IncomingHttpHeaders, drop: readonly string[]): string[] {
  const connection = headers.connection;
  const listed = connection === undefined ? [] : connectionListed(Array.isArray(connection) ? connection : [connection]);
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || stays(name, listed, drop)) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  return out;
}

// What node:zlib can decode, so a metered response is always readable.
const DECODABLE = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity', '*']);

/**
 * The client's Accept-Encoding without codings the proxy could not decode to read usage
 * (zstd on Node 20), or undefined when the client sent none.
 */
export function decodableAcceptEncoding(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const kept = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => DECODABLE.has((part.split(';')[0] ?? '').trim().toLowerCase()))
    // '*' would let the server pick anything: name only what we can read.
    .map((part) => (part.startsWith('*') ? part.replace('*', 'gzip') : part));
  return kept.length ? kept.join(', ') : 'identity';
}

/** The response's content coding, lower-cased; '' for none. (A repeated header arrives as a list.) */
export function contentEncoding(headers: IncomingHttpHeaders): string {
  const value = String(headers['content-encoding'] ?? '').trim().toLowerCase();
  return value === 'identity' ? '' : value;
}

/**
 * The API key a request carries (Authorization: Bearer, x-api-key, Azure's api-key, Google's
 * x-goog-api-key or its `?key=` in `target`; AWS's session token, as its secret key never
 * travels), so nothing the upstream echoes back can print it. Never stored beyond the call.
 */
export function keyOf(headers: IncomingHttpHeaders, target = ''): string | undefined {
  const bearer = /^\s*Bearer\s+(\S+)/i.exec(headers.authorization ?? '')?.[1];
  const key = bearer ?? headers['x-api-key'] ?? headers['api-key'] ?? headers['x-amz-security-token'] ?? googleKeyIn(headers, target);
  return typeof key === 'string' && key.length >= 8 ? key : undefined;
}
