/**
 * The metering reverse proxy: an HTTP server that forwards each request to the configured
 * upstream and reads the usage of every call off the response as it passes.
 *
 * - Responses are relayed as they arrive: each upstream chunk is written to the client before
 *   it is read for usage. Only an OpenAI stream whose usage the proxy asked for on the
 *   client's behalf is rewritten, a line at a time (see rewrite.ts).
 * - A non-streamed body is forwarded chunk by chunk and parsed once at its end, never
 *   re-serialised.
 * - Every metered call, whatever its end (done, failed, cut, refused), becomes one CallRecord
 *   through `emit`, the one place records leave the proxy.
 * - Nothing here logs: no header, key or body is ever written anywhere.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { redactKeys } from '../errors.js';
import type { PriceTable } from '../pricing/types.js';
import type { CallOutcome, ProviderFailure } from '../providers/types.js';
import { recordOf, type CallRecord, type RecordApi } from '../record.js';
import { formatUsd } from '../render/format.js';
import { contentEncoding, decodableAcceptEncoding, keyOf, relayHeaders } from './headers.js';
import { bodyOutcome, parseData, requestHead, sentText, streamMeter, type BodyEnd } from './meter.js';
import { errorReply, REFUSED, type ErrorReply } from './provider-errors.js';
import { withIncludeUsage, UsageStripper } from './rewrite.js';
import { displayUrl, routeOf, type Route, type Upstreams } from './routes.js';
import { LineSplitter, SseReader } from './sse.js';

export interface ProxyOptions {
  host: string;
  /** 0: a free port. */
  port: number;
  upstreams: Upstreams;
  table: PriceTable;
  /** Refuse metered calls once the known cost of the calls so far reaches this. */
  maxCostUsd?: number;
  /** Every metered call, once, when it has ended: done, failed, cut or refused. */
  onRecord(record: CallRecord): void;
}

export interface ProxyStats {
  /** Requests passed through without metering (paths that carry no usage). */
  unmetered: number;
  /** Calls refused by --max-cost, never sent upstream. */
  refused: number;
  /** The known cost of the calls so far (unpriced calls count nothing). */
  spentUsd: number;
}

export interface MeteringProxy {
  /** http://HOST:PORT, what clients use (OpenAI clients add /v1). */
  readonly origin: string;
  readonly port: number;
  stats(): ProxyStats;
  /**
   * Stops accepting connections and resolves once every call under way has been recorded.
   * Calls still running after `graceMs` are cut (and recorded as aborted).
   */
  close(graceMs?: number): Promise<void>;
}

/** One metered call while it runs. */
interface Call {
  route: Route;
  api: RecordApi;
  /** The request's JSON body (undefined when it was not JSON). */
  body: unknown;
  model: string;
  stream: boolean;
  key: string | undefined;
  started: number;
}

type Sent = { request: http.ClientRequest; response: http.IncomingMessage } | { error: NodeJS.ErrnoException };

export async function startProxy(opts: ProxyOptions): Promise<MeteringProxy> {
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const stats: ProxyStats = { unmetered: 0, refused: 0, spentUsd: 0 };
  const running = new Set<Promise<void>>();

  /** Every metered call leaves the proxy here, once: the budget's running total, then the hook. */
  function emit(record: CallRecord): void {
    if (record.cost_usd !== null) stats.spentUsd += record.cost_usd;
    opts.onRecord(record);
  }

  const server = http.createServer({ noDelay: true }, (req, res) => {
    const work = handle(req, res).catch(() => {
      // A bug of ours must not take the program's other calls down with it.
      if (!res.headersSent) reply(res, errorReply('openai', 'unreachable', 'llm-usage proxy: internal error'));
      else res.destroy();
    });
    running.add(work);
    void work.finally(() => running.delete(work));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '';
    const route = routeOf(method, target, req.headers, opts.upstreams);
    if (!route) {
      req.resume();
      const path = target.split('?')[0] ?? '';
      const provider = req.headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
      reply(res, errorReply(provider, 'no-route', `llm-usage proxy: no route for ${method} ${path}: OpenAI clients use ${origin}/v1 as their base URL, Anthropic clients ${origin}`));
      return;
    }
    if (route.api === null) {
      stats.unmetered++;
      await passThrough(req, res, route);
      return;
    }
    const record = await metered(req, res, route, route.api);
    if (record) emit(record);
  }

  function upstreamOf(route: Route): URL {
    return route.provider === 'openai' ? opts.upstreams.openai : opts.upstreams.anthropic;
  }

  function request(route: Route, method: string, headers: string[]): http.ClientRequest {
    const base = upstreamOf(route);
    const secure = base.protocol === 'https:';
    return (secure ? https : http).request({
      hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: base.port || (secure ? 443 : 80),
      method,
      path: route.upstreamPath,
      headers,
      agent: secure ? agents.https : agents.http,
    });
  }

  function unreachable(route: Route, err: NodeJS.ErrnoException): string {
    return `llm-usage proxy: cannot reach ${displayUrl(upstreamOf(route))} (${err.code ?? err.message})`;
  }

  /** A path that carries no usage: both bodies stream straight through. */
  function passThrough(req: http.IncomingMessage, res: http.ServerResponse, route: Route): Promise<void> {
    return new Promise((resolve) => {
      const up = request(route, req.method ?? 'GET', relayHeaders(req.rawHeaders, ['host', 'expect'], [['host', upstreamOf(route).host]]));
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
        resolve();
      });
      up.on('response', (response) => {
        res.writeHead(response.statusCode ?? 502, response.statusMessage, relayHeaders(response.rawHeaders));
        response.pipe(res);
        // Cut upstream: cut the client too, rather than end its body as if complete.
        response.on('error', () => res.destroy());
        response.on('close', () => {
          if (!response.complete) res.destroy();
        });
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (!res.headersSent) reply(res, errorReply(route.provider, 'unreachable', unreachable(route, err)));
        else res.destroy();
      });
      req.pipe(up);
    });
  }

  /**
   * Sends the call upstream; resolves with the response, or the error that came instead (a
   * client that leaves while waiting aborts the upstream request, which ends as an error).
   */
  function send(req: http.IncomingMessage, res: http.ServerResponse, route: Route, body: Buffer, acceptEncoding: string | undefined): Promise<Sent> {
    return new Promise((resolve) => {
      const add: [string, string][] = [
        ['host', upstreamOf(route).host],
        ['content-length', String(body.length)],
      ];
      if (acceptEncoding !== undefined) add.push(['accept-encoding', acceptEncoding]);
      const up = request(route, req.method ?? 'POST', relayHeaders(req.rawHeaders, ['host', 'content-length', 'expect', 'accept-encoding'], add));
      const clientLeft = () => up.destroy();
      res.once('close', clientLeft);
      up.once('response', (response) => {
        res.off('close', clientLeft);
        resolve({ request: up, response });
      });
      // After the response, a broken connection shows on the response; this only catches it.
      up.on('error', (error: NodeJS.ErrnoException) => {
        res.off('close', clientLeft);
        resolve({ error });
      });
      up.end(body);
    });
  }

  async function metered(req: http.IncomingMessage, res: http.ServerResponse, route: Route, api: RecordApi): Promise<CallRecord | null> {
    const started = performance.now();
    const raw = await readAll(req);
    // The client gave up before its request was complete: nothing went upstream.
    if (raw === null) return null;
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const call: Call = { route, api, body, ...requestHead(body), key: keyOf(req.headers), started };
    const failed = (failure: ProviderFailure, error?: string) => recorded(call, { text: [], model: null, usage: null, failure }, error);

    if (opts.maxCostUsd !== undefined && stats.spentUsd >= opts.maxCostUsd) {
      stats.refused++;
      const max = formatUsd(opts.maxCostUsd);
      const message = `llm-usage: budget exceeded: ${formatUsd(stats.spentUsd)} spent of --max-cost ${max}; this request was not sent to ${route.provider}`;
      reply(res, errorReply(route.provider, 'budget', message));
      return failed({ kind: 'http', status: 429, type: 'budget_exceeded', message }, `${REFUSED}: --max-cost ${max} reached; not sent`);
    }

    let clientLeft = false;
    res.on('close', () => {
      if (!res.writableFinished) clientLeft = true;
    });
    const encodings = decodableAcceptEncoding(req.headers['accept-encoding']);
    const injected = (api === 'chat' || api === 'completions') && isObject(body) ? withIncludeUsage(raw, body) : null;
    // An injected request asks for no compression, so the stream can be edited as it passes.
    let sent = await send(req, res, route, injected ?? raw, injected ? 'identity' : encodings);
    let rewrite = injected !== null;
    if (rewrite && 'response' in sent && sent.response.statusCode === 400 && !clientLeft) {
      // Some OpenAI-compatible servers reject stream_options: the client's request, exactly as
      // it sent it, gets its own answer, and usage is estimated.
      sent.response.resume();
      sent = await send(req, res, route, raw, encodings);
      rewrite = false;
    }
    if ('error' in sent) {
      if (clientLeft) return failed({ kind: 'aborted', message: 'the client closed the connection before the response' });
      const message = unreachable(route, sent.error);
      reply(res, errorReply(route.provider, 'unreachable', message));
      const where = route.provider === 'openai' ? '--openai-upstream or OPENAI_BASE_URL' : '--anthropic-upstream or ANTHROPIC_BASE_URL';
      return failed({ kind: 'connection', message }, `${message.replace(/^llm-usage proxy: /, '')}: answered 502 (check ${where})`);
    }
    return recorded(call, await relay(call, res, sent.request, sent.response, rewrite));
  }

  /**
   * Relays the upstream response to the client while metering it; resolves with the call's
   * outcome once the body has ended, been cut, or been abandoned by the client.
   */
  function relay(call: Call, res: http.ServerResponse, up: http.ClientRequest, response: http.IncomingMessage, rewrite: boolean): Promise<CallOutcome> {
    const status = response.statusCode ?? 502;
    const requestId = headerText(response.headers['x-request-id'] ?? response.headers['request-id']);
    const stream = status >= 200 && status < 300 && /^text\/event-stream/i.test(response.headers['content-type'] ?? '');
    const encoding = contentEncoding(response.headers);
    const decoder = encoding ? decoderFor(encoding) : null;
    // A coding we cannot decode (asked for none of them, but sent anyway): relayed, not read.
    const unreadable = encoding !== '' && decoder === null;
    const editing = stream && rewrite && !unreadable;
    // An edited stream changes length; one that came encoded anyway is forwarded decoded.
    const drop = editing ? ['content-length', ...(encoding ? ['content-encoding'] : [])] : [];
    res.writeHead(status, response.statusMessage, relayHeaders(response.rawHeaders, drop));
    let paused = false;
    const client = new TurnWriter(res, () => {
      // The client reads slower than upstream sends: hold upstream until it catches up.
      if (paused) return;
      paused = true;
      response.pause();
      res.once('drain', () => {
        paused = false;
        response.resume();
      });
    });
    // A stream's headers go as soon as they came: an SDK's create() resolves on them.
    if (stream) client.flushSoon();

    return new Promise((resolve) => {
      const meter = stream ? streamMeter(call.api) : null;
      const splitter = new LineSplitter();
      const reader = new SseReader(meter?.wants);
      const stripper = editing ? new UsageStripper() : null;
      const bodyParts: Buffer[] = [];
      const feedMeter = (payload: unknown) => meter?.data(payload);

      const write = (bytes: Buffer) => client.write(bytes);

      /** Reads decoded bytes: an edited stream's lines, a stream's events, or a body kept for its end. */
      const read = (bytes: Buffer) => {
        if (stripper) {
          const out: Buffer[] = [];
          splitter.push(bytes, (line) => {
            const kept = stripper.line(line, feedMeter);
            if (kept) out.push(kept);
          });
          if (out.length) write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
        } else if (meter) {
          splitter.push(bytes, (line) => {
            const event = reader.line(line);
            if (event) feedMeter(parseData(event.data));
          });
        } else bodyParts.push(bytes);
      };

      const endClient = () => {
        if (stripper) {
          // A last line without its newline: forwarded as it came.
          const rest = splitter.rest();
          if (rest) write(rest);
        }
        client.end();
      };

      let settled = false;
      const settle = (end: BodyEnd) => {
        if (settled) return;
        settled = true;
        let outcome: CallOutcome;
        if (unreadable) {
          outcome = { text: [], model: null, usage: null };
          if (end !== 'complete' || status >= 300) outcome = bodyOutcome(call.api, status, '', end);
        } else if (meter) outcome = meter.outcome(end);
        else outcome = bodyOutcome(call.api, status, Buffer.concat(bodyParts).toString('utf8'), end);
        if (requestId) outcome.requestId = requestId;
        resolve(outcome);
      };

      let ended = false;
      const finish = (end: BodyEnd) => {
        if (ended) return;
        ended = true;
        if (end !== 'complete') {
          res.destroy();
          decoder?.destroy();
          settle(end);
        } else if (decoder) {
          // The decoder still holds bytes: an edited stream's end, and the outcome, wait for it.
          if (!editing) client.end();
          decoder.end();
        } else {
          endClient();
          settle(end);
        }
      };

      if (decoder) {
        decoder.on('data', read);
        decoder.on('end', () => {
          if (editing) endClient();
          settle('complete');
        });
        decoder.on('error', () => {
          // Undecodable bytes: the client has them as sent; the meter cannot read them.
          if (editing) res.destroy();
          settle('complete');
        });
      }

      response.on('data', (chunk: Buffer) => {
        // The client's bytes go out first; metering reads them after.
        if (!editing) write(chunk);
        if (decoder) decoder.write(chunk);
        else if (!unreadable) read(chunk);
      });
      response.on('end', () => finish('complete'));
      // A client that left first has already finished the call as aborted.
      response.on('error', () => finish('cut'));
      response.on('close', () => {
        if (!response.complete) finish('cut');
      });
      res.on('close', () => {
        if (res.writableFinished || ended) return;
        up.destroy();
        finish('aborted');
      });
    });
  }

  /** Every call's record is made here, key-safe, and keeps no request or response text. */
  async function recorded(call: Call, outcome: CallOutcome, error?: string): Promise<CallRecord> {
    const model = call.model || 'unknown';
    const spec = {
      provider: call.route.provider,
      api: call.api,
      model,
      prompt: '',
      stream: call.stream,
      streamUsage: false,
      apiKey: '',
      // The request's text matters only for an estimate: read it only then.
      ...(outcome.usage ? {} : { sent: sentText(call.api, call.body) }),
    };
    const record = await recordOf(spec, outcome, performance.now() - call.started, opts.table);
    const { choices: _texts, ...rest } = record;
    const line = error !== undefined ? `${call.route.provider} ${model}: ${error}` : record.error;
    return { ...rest, text: '', error: line === null ? null : redactCallKey(line, call.key) };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  const origin = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;

  return {
    origin,
    port,
    stats: () => ({ ...stats }),
    async close(graceMs = 2000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      while (running.size) await Promise.allSettled([...running]);
      clearTimeout(cut);
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/**
 * Writes to the client, joining what arrives within one turn of the event loop into one socket
 * write: a response's headers, last chunk and end usually leave together instead of as three
 * system calls, and a stream still goes out as it arrives (a turn takes microseconds).
 */
class TurnWriter {
  private pending: Buffer[] = [];
  private scheduled = false;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly onFull: () => void,
  ) {}

  write(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.flushSoon();
  }

  /** Sends what is pending (or, if nothing is, the headers) at the end of this turn. */
  flushSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  end(): void {
    const rest = this.take();
    if (rest) this.res.end(rest);
    else this.res.end();
  }

  private readonly flush = () => {
    this.scheduled = false;
    if (this.res.writableEnded || this.res.destroyed) return;
    const bytes = this.take();
    if (bytes) {
      if (!this.res.write(bytes)) this.onFull();
    } else if (!this.res.headersSent) this.res.flushHeaders();
  };

  private take(): Buffer | null {
    const { pending } = this;
    if (pending.length === 0) return null;
    this.pending = [];
    return pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
  }
}

function reply(res: http.ServerResponse, r: ErrorReply): void {
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}

/** The whole request body, or null when the client went away before sending all of it. */
function readAll(req: http.IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)));
    req.on('error', () => resolve(null));
    req.on('close', () => {
      if (!req.complete) resolve(null);
    });
  });
}

function decoderFor(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null {
  if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  return null;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Removes the call's own key (and any configured or key-shaped one) from a line. */
function redactCallKey(line: string, key: string | undefined): string {
  return redactKeys(key ? line.split(key).join('***') : line);
}
