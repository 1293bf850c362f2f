/**
 * The metering reverse proxy: node:http serves the clients, undici forwards to the upstreams,
 * and this module is the short list of passes between them: route, limit, budget, rewrite,
 * meter, record. It never parses or frames HTTP itself: a request's body is delimited by what
 * node:http read and sent as undici writes it, so no header can change how a body is framed.
 *
 * - Responses are relayed as they arrive, with backpressure both ways; a stream is metered as
 *   it passes (lazily: see meter.ts). Only an OpenAI stream whose usage the proxy asked for on
 *   the client's behalf is rewritten, a line at a time (rewrite.ts).
 * - Every metered call, whatever its end (done, failed, cut, refused), becomes one CallRecord
 *   through `emit`, the one place records leave the proxy.
 * - Nothing here logs: no header, key or body is ever written anywhere.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { SpendingLimit, worstCaseUsd } from '../budget.js';
import { redactKeys } from '../errors.js';
import type { PriceTable } from '../pricing/types.js';
import type { CallOutcome, ProviderFailure, ProviderName } from '../providers/types.js';
import { UPSTREAM_SETTING, type CallRecord, type RecordApi } from '../record.js';
import { formatUsd, shownName } from '../render/format.js';
import { bufferOf, INLINE_BYTES, Offload, type EndedCall } from './calls.js';
import { bedrockStreamMeter, type BedrockStreamMeter } from '../wire/bedrock.js';
import { AwsGate, type AwsCredentials } from './aws.js';
import { serveH2c } from './h2.js';
import { contentEncoding, decodableAcceptEncoding, keyOf, relayHeaders, responseHeaders } from './headers.js';
import type { ProxyLimits } from './limits.js';
import { bodyOutcome, streamMeter, type BodyEnd } from '../wire/index.js';
import { errorReply, REFUSED, type ProxyRefusal } from './provider-errors.js';
import { UsageStripper } from './rewrite.js';
import { dialableHost, displayUrl, routeOf, type ProxyEnv, type Route, type Upstreams } from './routes.js';
import { LineSplitter, SseReader } from '../wire/sse.js';

export interface ProxyOptions {
  host: string;
  /** 0: a free port. */
  port: number;
  upstreams: Upstreams;
  table: PriceTable;
  /** The --pricing file the table came from, for the worker thread to load the same. */
  pricing?: string;
  /** Admit a metered call only while the calls so far, and its worst case, stay within this. */
  maxCostUsd?: number;
  /** The corporate proxies to reach the upstreams through. */
  proxyEnv?: ProxyEnv;
  limits: ProxyLimits;
  /** Every metered call, once, when it has ended: done, failed, cut or refused. */
  onRecord(record: CallRecord): void;
  /** `proxy`'s /metrics: answers /metrics itself (outside /v1, so never routed upstream). */
  metrics?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** The AWS credentials Bedrock requests are checked against; by default the AWS SDK's chain. */
  awsCredentials?: () => Promise<AwsCredentials>;
}

export interface ProxyStats {
  /** Every request that arrived, whatever became of it. */
  requests: number;
  /** Requests passed through without metering (paths that carry no usage). */
  unmetered: number;
  /** Requests the proxy answered itself and never sent, by why. */
  refused: Partial<Record<ProxyRefusal, number>>;
  /** The known cost of the calls so far (unpriced calls count nothing). */
  spentUsd: number;
}

export interface MeteringProxy {
  /** http://HOST:PORT, what clients use (OpenAI clients add /v1). */
  readonly origin: string;
  readonly port: number;
  stats(): ProxyStats;
  /** From now on, a call that is cut short was cut because of this (e.g. "llm-usage got SIGTERM"). */
  stopping(reason: string): void;
  /**
   * Stops accepting connections and resolves once every call under way has been recorded.
   * Calls still running after `graceMs` are cut (and recorded as aborted).
   */
  close(graceMs?: number): Promise<void>;
}

/** One metered call while it runs. */
interface Call {
  route: Route & { api: RecordApi };
  model: string;
  stream: boolean;
  key: string | undefined;
  started: number;
  /** Its reservation against --max-cost. */
  reservedUsd: number;
}

export async function startProxy(opts: ProxyOptions): Promise<MeteringProxy> {
  const { limits } = opts;
  const stats: ProxyStats = { requests: 0, unmetered: 0, refused: {}, spentUsd: 0 };
  const budget = new SpendingLimit(opts.maxCostUsd);
  const offload = new Offload(opts.table, opts.pricing);
  const aws = new AwsGate(opts.upstreams.bedrock, opts.awsCredentials);
  const timeouts = { headersTimeout: limits.upstreamHeadersTimeoutMs, bodyTimeout: limits.upstreamBodyTimeoutMs };
  // Without a proxy to go through, a plain Agent: the proxy-aware one checks NO_PROXY on every request.
  const dispatcher: Dispatcher = opts.proxyEnv?.httpProxy || opts.proxyEnv?.httpsProxy ? new EnvHttpProxyAgent({ ...opts.proxyEnv, ...timeouts }) : new Agent(timeouts);
  const running = new Underway();
  let stopReason: string | null = null;

  /** Every metered call leaves the proxy here, once: the budget, then the hook. */
  function emit(call: Call, record: CallRecord): void {
    budget.settle(call.reservedUsd, record.cost_usd);
    stats.spentUsd = budget.spentUsd;
    opts.onRecord(record);
  }

  function refuse(res: http.ServerResponse, provider: ProviderName, refusal: ProxyRefusal, message: string, awsType?: string): void {
    stats.refused[refusal] = (stats.refused[refusal] ?? 0) + 1;
    reply(res, provider, refusal, message, awsType);
  }

  /** A request whose body is past the limit: refused, never sent. */
  function refuseTooLarge(res: http.ServerResponse, route: Route): void {
    refuse(res, route.provider, 'too-large', `llm-usage proxy: the request body is larger than ${limits.maxBodyBytes} bytes (LLM_USAGE_PROXY_MAX_BODY); not sent`);
  }

  /** An answer of the proxy's own. Past a body too large to read, the connection closes. */
  function reply(res: http.ServerResponse, provider: ProviderName, refusal: ProxyRefusal, message: string, awsType?: string): void {
    if (res.headersSent || res.destroyed) return;
    const r = errorReply(provider, refusal, message, awsType);
    if (refusal === 'too-large') res.shouldKeepAlive = false;
    res.writeHead(r.status, r.headers).end(r.body);
  }

  function upstreamOf(route: Route): URL {
    // A Bedrock route has its own once its signature verified (aws.ts), before anything is sent;
    // an Azure route exists only when its upstream does (routes.ts).
    return route.upstream ?? (opts.upstreams[route.provider as Exclude<keyof Upstreams, 'compat'>] as URL);
  }

  /**
   * A Bedrock request's signature checked against the user's AWS credentials: how to sign its
   * headers for the upstream, or null when it was answered here (403) and must not be sent.
   */
  async function admitAws(req: http.IncomingMessage, res: http.ServerResponse, route: Route, body: Buffer): Promise<((headers: string[]) => Promise<string[]>) | null> {
    const admitted = await aws.admit({ method: req.method ?? 'POST', target: route.upstreamPath, headers: req.headers, body });
    if ('type' in admitted) {
      refuse(res, 'bedrock', 'signature', admitted.message, admitted.type);
      return null;
    }
    route.upstream = admitted.endpoint;
    route.upstreamPath = admitted.url.pathname + admitted.url.search;
    return admitted.sign;
  }

  /** A Bedrock path that carries no usage: read whole, for its signature is checked before it is sent. */
  async function signedPassThrough(req: http.IncomingMessage, res: http.ServerResponse, route: Route): Promise<void> {
    const read = await readBody(req);
    if (read === 'gone') return;
    if (read === 'too-large') return refuseTooLarge(res, route);
    const sign = await admitAws(req, res, route, read);
    if (!sign) return;
    stats.unmetered++;
    passThrough(req, res, route, { body: read, headers: await sign(upstreamHeaders(req, [], [['content-length', String(read.length)]])) });
  }

  function unreachable(route: Route, error: Error): string {
    const url = displayUrl(upstreamOf(route));
    if (error.name === 'HTTPParserError' || error.message === 'bad response') return `llm-usage proxy: malformed response from ${url} (${error.message})`;
    if (/^Proxy response/.test(error.message)) {
      const via = upstreamOf(route).protocol === 'https:' ? opts.proxyEnv?.httpsProxy : opts.proxyEnv?.httpProxy;
      return `llm-usage proxy: cannot reach ${url} through the proxy ${via ? displayUrl(via) : ''} (the proxy answered ${/\((\d+)\)/.exec(error.message)?.[1] ?? 'no'})`;
    }
    // undici's own codes (UND_ERR_*) say less than the system error behind them, or its message.
    const code = (error as { cause?: NodeJS.ErrnoException }).cause?.code ?? (error as NodeJS.ErrnoException).code ?? '';
    return `llm-usage proxy: cannot reach ${url} (${code && !code.startsWith('UND_ERR') ? code : error.message})`;
  }

  /** What a request sends upstream: its end-to-end headers, framing left to undici. */
  function upstreamHeaders(req: http.IncomingMessage, drop: string[], add: [string, string][]): string[] {
    return relayHeaders(req.rawHeaders, ['host', 'expect', 'content-length', ...drop], add);
  }

  /** Sends one request upstream and hands its response to `sink`; what it returns can abandon it. */
  function forward(route: Route, method: string, headers: string[], body: Buffer | Readable | null, sink: Sink): Upstream {
    const upstream = new Upstream(sink);
    dispatcher.dispatch({ origin: originOf(upstreamOf(route)), path: route.upstreamPath, method: method as Dispatcher.HttpMethod, headers, body }, upstream);
    return upstream;
  }

  /** Writes to the client, pausing upstream while the client is slower. */
  function write(res: http.ServerResponse, bytes: Buffer, c: Dispatcher.DispatchController): void {
    if (bytes.length === 0 || res.destroyed) return;
    if (!res.write(bytes) && !c.paused) {
      c.pause();
      res.once('drain', () => c.resume());
    }
  }

  /** A path that carries no usage: both bodies stream straight through. */
  function passThrough(req: http.IncomingMessage, res: http.ServerResponse, route: Route, signed?: { body: Buffer; headers: string[] }): void {
    const length = req.headers['content-length'];
    const hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    const headers = signed?.headers ?? upstreamHeaders(req, [], length !== undefined ? [['content-length', length]] : []);
    const upstream = forward(route, req.method ?? 'GET', headers, signed ? signed.body : hasBody ? req : null, {
      head(status, headers, message) {
        res.writeHead(status, message || undefined, responseHeaders(headers, []));
      },
      data: (chunk, c) => write(res, chunk, c),
      end: () => res.end(),
      error(error) {
        if (!res.headersSent) reply(res, route.provider, timedOut(error) ? 'timeout' : 'unreachable', unreachable(route, error));
        else res.destroy();
      },
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.abandon(new Error('the client left'));
    });
  }

  /** Reads a metered request's body whole, up to the limit: a Buffer, or why not. */
  function readBody(req: http.IncomingMessage): Promise<Buffer | 'too-large' | 'gone'> {
    const max = limits.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) return Promise.resolve('too-large');
    return new Promise((resolve) => {
      // One buffer, grown by doubling: a body of a million 1-byte chunks is one copy, not a
      // million objects. A large one has memory of its own (never the shared pool), so it can be
      // moved to the worker thread whole; a small one comes from the pool, which is cheaper.
      const alloc = (size: number) => (size >= INLINE_BYTES ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size));
      let buf = alloc(Number.isFinite(declared) ? declared : 16 * 1024);
      let length = 0;
      const onData = (chunk: Buffer) => {
        if (length + chunk.length > max) {
          req.off('data', onData).pause();
          resolve('too-large');
          return;
        }
        if (length + chunk.length > buf.length) {
          const grown = alloc(Math.min(max, Math.max(buf.length * 2, length + chunk.length)));
          buf.copy(grown, 0, 0, length);
          buf = grown;
        }
        chunk.copy(buf, length);
        length += chunk.length;
      };
      req.on('data', onData);
      req.once('end', () => resolve(buf.subarray(0, length)));
      req.once('close', () => {
        if (!req.complete) resolve('gone');
      });
    });
  }

  /**
   * A metered call: the request is read whole, admitted against the budget, sent on (with usage
   * asked for, if it is an OpenAI stream that did not), and its response relayed and metered.
   * Resolves once its record has been emitted (or nothing was sent: the client left first).
   */
  async function metered(req: http.IncomingMessage, res: http.ServerResponse, route: Route & { api: RecordApi }, setCut: (cut: (reason: string) => void) => void): Promise<void> {
    const started = performance.now();
    const read = await readBody(req);
    if (read === 'gone') return;
    if (read === 'too-large') return refuseTooLarge(res, route);
    const sign = route.provider === 'bedrock' ? await admitAws(req, res, route, read) : undefined;
    if (sign === null) return;
    // A large request goes to the worker thread and comes back with its facts.
    const countPrompt = budget.maxUsd !== undefined;
    const { facts, raw: body } = offload.factsNow(read, route.api, route.provider, countPrompt) ?? (await offload.facts(read, route.api, route.provider, countPrompt));
    // Bedrock names the model, and whether it streams, in the path; Azure's deployments path the deployment.
    // Gemini's generateContent path names the model and whether it streams, too.
    const call: Call = {
      route,
      model: route.bedrock?.modelId ?? route.gemini?.model ?? route.deployment ?? facts.model,
      stream: route.bedrock?.stream ?? route.gemini?.stream ?? facts.stream,
      key: keyOf(req.headers, req.url),
      started,
      reservedUsd: 0,
    };
    const record = async (ended: Omit<EndedCall, 'provider' | 'api' | 'model' | 'stream' | 'durationMs' | 'request' | 'key'>, error?: string) => {
      const durationMs = performance.now() - started;
      await nextTurn();
      const made = offload.record({ provider: route.provider, api: route.api, model: call.model, stream: call.stream, durationMs, request: body, key: call.key, ...ended });
      const r = made instanceof Promise ? await made : made;
      const line = error !== undefined ? `${route.provider} ${shownName(call.model || 'unknown')}: ${error}` : r.error;
      r.error = line === null ? null : redactCallKey(line, call.key);
      emit(call, r);
    };
    const failed = (failure: ProviderFailure, error?: string) => record({ response: { outcome: { text: [], model: null, usage: null, failure } } }, error);

    if (budget.maxUsd !== undefined) {
      const worst = worstCaseUsd(opts.table, route.provider, call.model, facts.promptTokens ?? 0, facts.maxOutput);
      const reserved = worst.usd === null ? null : budget.admit(worst.usd);
      if (reserved === null) {
        const max = formatUsd(budget.maxUsd);
        const why =
          worst.usd === null
            ? `--max-cost ${max} cannot bound this call (${worst.unknownBecause})`
            : `budget exceeded: its worst case ${formatUsd(worst.usd)} on top of ${formatUsd(budget.spentUsd)} spent and ${formatUsd(budget.reservedUsd)} in flight would pass --max-cost ${max}`;
        const message = `llm-usage: ${why}; this request was not sent to ${route.provider}`;
        refuse(res, route.provider, 'budget', message);
        return failed({ kind: 'http', status: 429, type: 'budget_exceeded', message }, `${REFUSED}: ${why}; not sent`);
      }
      call.reservedUsd = reserved;
    }

    const encodings = decodableAcceptEncoding(req.headers['accept-encoding']);
    const injected = facts.injected ? bufferOf(facts.injected) : null;
    const sentHeaders = (bytes: Buffer, rewrite: boolean) => {
      const add: [string, string][] = [['content-length', String(bytes.length)]];
      const acceptEncoding = rewrite ? 'identity' : encodings;
      if (acceptEncoding !== undefined) add.push(['accept-encoding', acceptEncoding]);
      return upstreamHeaders(req, ['accept-encoding'], add);
    };
    // Signed for the upstream now: a Bedrock request is sent once, as it came (never rewritten).
    const signed = sign ? await sign(sentHeaders(body, false)) : null;
    return new Promise<void>((resolve) => {
      const done = (p: Promise<void>) => void p.then(resolve, resolve);
      let upstream: Upstream | null = null;
      let relay: Relay | null = null;
      let cutReason: string | null = null;
      const cut = (reason: string) => {
        cutReason = reason;
        upstream?.abandon(new Error(reason));
        if (relay) relay.finish('aborted');
        else done(failed({ kind: 'aborted', message: reason }));
        res.destroy();
      };
      setCut(cut);
      res.on('close', () => {
        if (res.writableFinished || cutReason) return;
        cut(stopReason ?? 'the client closed the connection before the response ended');
      });

      // `bytes`: the request as sent; `rewrite`: usage was asked for on the client's behalf.
      const send = (bytes: Buffer, rewrite: boolean) => {
        let retry = false;
        upstream = forward(route, req.method ?? 'POST', signed ?? sentHeaders(bytes, rewrite), bytes, {
          head(status, headers, message) {
            // Some OpenAI-compatible servers reject stream_options: the client's own request,
            // exactly as it sent it, gets its own answer, and usage is estimated.
            if (rewrite && status === 400) retry = true;
            else relay = new Relay(call, res, status, headers, message, rewrite, (outcome) => done(record({ response: { outcome } })), (response) => done(record({ response })));
          },
          data(chunk, c) {
            relay?.body(chunk, c);
          },
          end() {
            if (retry) send(body, false);
            else relay?.finish('complete');
          },
          error(error) {
            if (relay) {
              relay.finish(cutReason ? 'aborted' : 'cut', timedOut(error) ? `no data from upstream for ${limits.upstreamBodyTimeoutMs / 1000} s (LLM_USAGE_PROXY_UPSTREAM_BODY_TIMEOUT)` : undefined);
              return;
            }
            if (cutReason) return;
            const timeout = timedOut(error);
            const message = timeout
              ? `llm-usage proxy: ${displayUrl(upstreamOf(route))} sent no response headers within ${limits.upstreamHeadersTimeoutMs / 1000} s (LLM_USAGE_PROXY_UPSTREAM_HEADERS_TIMEOUT)`
              : unreachable(route, error);
            reply(res, route.provider, timeout ? 'timeout' : 'unreachable', message);
            const setting = UPSTREAM_SETTING[route.provider];
            done(failed({ kind: 'connection', message }, `${message.replace(/^llm-usage proxy: /, '')}: answered ${timeout ? 504 : 502}${timeout ? '' : ` (check ${setting})`}`));
          },
        });
      };
      send(injected ?? body, injected !== null);
    });
  }

  /**
   * Relays one upstream response to the client while metering it; once the body has ended, been
   * cut, or been abandoned by the client, a stream's outcome goes to `onOutcome`, a whole body
   * to `onBody` (parsed off the event loop when large).
   */
  class Relay {
    private readonly meter;
    private readonly splitter: LineSplitter | null;
    private readonly reader: SseReader | null;
    private readonly stripper: UsageStripper | null;
    private readonly decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null;
    private readonly unreadable: boolean;
    private readonly editing: boolean;
    private readonly requestId: string | undefined;
    private readonly headers: http.IncomingHttpHeaders;
    private readonly frames: BedrockStreamMeter | null = null;
    private readonly bodyParts: Buffer[] = [];
    private ended = false;
    private settled = false;
    private cutBecause: string | undefined;

    constructor(
      private readonly call: Call,
      private readonly res: http.ServerResponse,
      private readonly status: number,
      headers: http.IncomingHttpHeaders,
      message: string | undefined,
      rewrite: boolean,
      private readonly onOutcome: (outcome: CallOutcome) => void,
      private readonly onBody: (response: Extract<EndedCall['response'], { body: Uint8Array }>) => void,
    ) {
      const requestId = headers['x-request-id'] ?? headers['request-id'] ?? headers['x-amzn-requestid'];
      this.requestId = Array.isArray(requestId) ? requestId[0] : requestId;
      const stream = status >= 200 && status < 300 && /^text\/event-stream/i.test(String(headers['content-type'] ?? ''));
      const encoding = contentEncoding(headers);
      this.decoder = encoding ? decoderFor(encoding) : null;
      // A coding we cannot decode (asked for none of them, but sent anyway): relayed, not read.
      this.unreadable = encoding !== '' && this.decoder === null;
      this.editing = stream && rewrite && !this.unreadable;
      this.meter = stream ? streamMeter(call.route.api) : null;
      const bedrock = call.route.bedrock;
      this.headers = headers;
      // Bedrock streams are binary event-stream frames: relayed as they are, read by their own meter.
      if (bedrock?.stream && status >= 200 && status < 300 && /^application\/vnd\.amazon\.eventstream/i.test(String(headers['content-type'] ?? ''))) {
        this.frames = bedrockStreamMeter(bedrock.operation as 'invoke-with-response-stream' | 'converse-stream');
      }
      this.stripper = this.editing && this.meter ? new UsageStripper(this.meter) : null;
      // A stream the stripper does not read is read here, event by event.
      this.splitter = this.meter && !this.stripper ? new LineSplitter() : null;
      this.reader = this.meter && !this.stripper ? new SseReader(this.meter.wants) : null;
      // An edited stream changes length; one that came encoded anyway is forwarded decoded.
      const drop = this.editing ? ['content-length', ...(encoding ? ['content-encoding'] : [])] : [];
      // The head leaves with the first bytes of the body: one write, not two.
      res.writeHead(status, message || undefined, responseHeaders(headers, drop));

      const decoder = this.decoder;
      if (decoder) {
        decoder.on('data', (bytes: Buffer) => this.read(bytes));
        decoder.on('end', () => {
          if (this.editing) this.endClient();
          this.settle('complete');
        });
        decoder.on('error', () => {
          // Undecodable bytes: the client has them as sent; the meter cannot read them.
          if (this.editing) this.res.destroy();
          this.settle('complete');
        });
      }
    }

    body(bytes: Buffer, c: Dispatcher.DispatchController): void {
      // The client's bytes go out first; metering reads them after.
      if (!this.editing) write(this.res, bytes, c);
      this.controller = c;
      if (this.decoder) this.decoder.write(bytes);
      else if (!this.unreadable) this.read(bytes);
    }

    private controller: Dispatcher.DispatchController | null = null;

    /** The body ended: cleanly, cut upstream (`why`, if known), or abandoned by the client. */
    finish(end: BodyEnd, why?: string): void {
      if (this.ended) return;
      this.ended = true;
      this.cutBecause = why;
      if (end !== 'complete') {
        this.res.destroy();
        this.decoder?.destroy();
        this.settle(end);
      } else if (this.decoder) {
        // The decoder still holds bytes: an edited stream's end, and the outcome, wait for it.
        if (!this.editing) this.res.end();
        this.decoder.end();
      } else {
        this.endClient();
        this.settle(end);
      }
    }

    /** Reads decoded bytes: an edited stream's lines, a stream's events, or a body kept for its end. */
    private read(bytes: Buffer): void {
      const { stripper, meter } = this;
      if (this.frames) this.frames.push(bytes);
      else if (stripper) {
        const out = stripper.push(bytes);
        if (out.length && this.controller) write(this.res, out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out), this.controller);
      } else if (meter && this.splitter && this.reader) {
        const reader = this.reader;
        this.splitter.scan(bytes, (buf, start, end) => {
          const event = reader.lineAt(buf, start, end);
          if (event) meter.raw(event.event, event.data);
        });
      } else this.bodyParts.push(bytes);
    }

    private endClient(): void {
      // A last line without its newline: forwarded as it came.
      const rest = this.stripper?.rest();
      if (rest && !this.res.destroyed) this.res.write(rest);
      this.res.end();
    }

    private settle(end: BodyEnd): void {
      if (this.settled) return;
      this.settled = true;
      const { status } = this;
      const bedrock = this.call.route.bedrock;
      if (this.frames && !this.unreadable) {
        void this.frames.outcome(end).then((outcome) => this.onOutcome(this.withCause(outcome)));
      } else if (bedrock && !this.unreadable) {
        // Read with the record, off the event loop when large; usage may be in its headers.
        const operation = bedrock.operation.startsWith('invoke') ? 'invoke' : 'converse';
        this.onBody({ status, body: this.wholeBody(), end, bedrock: { operation, headers: this.headers }, ...(this.requestId ? { requestId: this.requestId } : {}) });
      } else if (this.unreadable) {
        let outcome: CallOutcome = { text: [], model: null, usage: null };
        if (end !== 'complete' || status >= 300) outcome = bodyOutcome(this.call.route.api, status, '', end);
        this.onOutcome(this.withCause(outcome));
      } else if (this.meter) this.onOutcome(this.withCause(this.meter.outcome(end)));
      else if (end !== 'complete') this.onOutcome(this.withCause(bodyOutcome(this.call.route.api, status, this.wholeBody().toString('utf8'), end)));
      else this.onBody({ status, body: this.wholeBody(), end, ...(this.requestId ? { requestId: this.requestId } : {}) });
    }

    /**
     * The body kept for its end, whole. One small part is passed as it came; anything else is
     * copied into memory of its own, for a large body is moved to the worker thread whole
     * (calls.ts), and must never be a view into a socket's read buffer.
     */
    private wholeBody(): Buffer {
      const parts = this.bodyParts;
      return parts.length === 1 && (parts[0] as Buffer).length < INLINE_BYTES ? (parts[0] as Buffer) : Buffer.concat(parts);
    }

    /** The outcome with its request id, and the reason it was cut, when known. */
    private withCause(outcome: CallOutcome): CallOutcome {
      if (this.requestId) outcome.requestId = this.requestId;
      const f = outcome.failure;
      if (f && f.kind === 'aborted' && stopReason) f.message = stopReason;
      else if (f && f.kind === 'stream-cut' && this.cutBecause) f.message = `the response was cut: ${this.cutBecause}`;
      return outcome;
    }
  }

  const server = http.createServer({
    // node:http checks its header and request timeouts on this interval (30 s by default).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.headersTimeoutMs / 2)),
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: Math.max(limits.headersTimeoutMs, limits.requestTimeoutMs),
    noDelay: true,
  });
  let origin = '';
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (opts.metrics !== undefined && req.url === '/metrics') return opts.metrics(req, res);
    stats.requests++;
    const route = routeOf(req.method ?? 'GET', req.url ?? '', req.headers, opts.upstreams, origin);
    if ('refusal' in route) {
      refuse(res, route.provider, route.refusal, route.message);
      return;
    }
    if (route.api === null && route.provider === 'bedrock') {
      void signedPassThrough(req, res, route).catch(() => void res.destroy());
      return;
    }
    if (route.api === null) {
      stats.unmetered++;
      passThrough(req, res, route);
      return;
    }
    const call = running.add();
    call.work = metered(req, res, route as Route & { api: RecordApi }, (c) => (call.cut = c)).then(
      () => running.remove(call),
      () => {
        res.destroy();
        running.remove(call);
      },
    );
  };
  server.on('request', onRequest);
  const h2c = serveH2c(server, onRequest, limits);
  // What node:http cannot parse, or a client too slow to send its headers, gets node:http's
  // own 400, 431 or 408, and the connection closes: nothing of it is forwarded.
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  origin = `http://${dialableHost(opts.host)}:${port}`;

  return {
    origin,
    port,
    stats: () => ({ ...stats, refused: { ...stats.refused } }),
    stopping(reason) {
      stopReason = reason;
    },
    async close(graceMs = 2000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      h2c.close();
      const cut = setTimeout(() => {
        const reason = stopReason ?? 'llm-usage stopped before the response ended';
        for (const call of running.calls()) call.cut(reason);
        server.closeAllConnections();
        h2c.destroy();
      }, graceMs);
      while (running.size) await Promise.allSettled(running.calls().map((call) => call.work));
      clearTimeout(cut);
      server.closeAllConnections();
      h2c.destroy();
      await closed;
      await Promise.all([offload.close(), dispatcher.close()]);
    },
  };
}

/** A metered call under way: it resolves once recorded, and `cut` ends it early. */
interface UnderwayCall {
  work: Promise<void> | null;
  cut(reason: string): void;
  prev: UnderwayCall | null;
  next: UnderwayCall | null;
}

/**
 * The calls under way, for close() to cut and wait for: a list linked through the calls, not a
 * Map or Set. A hash table that gains and loses an entry for every call keeps each call's
 * objects (its request, response, relay and record) alive through young-generation collections:
 * measured with --trace-gc-nvp, 5.7 KB a call promoted to the old generation, against 0.36 KB
 * with this list, and 15% less proxy CPU per call in interleaved runs (244 -> 206 us).
 */
class Underway {
  private head: UnderwayCall | null = null;
  size = 0;

  add(): UnderwayCall {
    const call: UnderwayCall = { work: null, cut: () => undefined, prev: null, next: this.head };
    if (this.head) this.head.prev = call;
    this.head = call;
    this.size++;
    return call;
  }

  remove(call: UnderwayCall): void {
    if (call.prev) call.prev.next = call.next;
    else if (this.head === call) this.head = call.next;
    else return; // removed already
    if (call.next) call.next.prev = call.prev;
    call.prev = call.next = null;
    this.size--;
  }

  calls(): UnderwayCall[] {
    const all: UnderwayCall[] = [];
    for (let c = this.head; c; c = c.next) all.push(c);
    return all;
  }
}

/**
 * One request upstream, as undici's handler: the response goes to a Sink, and `abandon` cuts
 * the request (the client left, or the proxy is stopping), before it starts or while it runs.
 * A class, not an object of closures: a proxy sends thousands a second.
 */
class Upstream implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private abandoned: Error | null = null;

  constructor(private readonly sink: Sink) {}

  abandon(reason: Error): void {
    this.abandoned = reason;
    this.controller?.abort(reason);
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.abandoned) c.abort(this.abandoned);
  }

  onResponseStart(c: Dispatcher.DispatchController, status: number, headers: http.IncomingHttpHeaders, statusMessage?: string): void {
    // 103 Early Hints and the like: the real head follows, and is all the client gets.
    if (status >= 200) this.sink.head(status, headers, statusMessage, c);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.sink.data(chunk, c);
  }

  onResponseEnd(): void {
    this.sink.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.sink.error(error);
  }
}

/** What forward hands a response to. */
interface Sink {
  head(status: number, headers: http.IncomingHttpHeaders, message: string | undefined, c: Dispatcher.DispatchController): void;
  data(chunk: Buffer, c: Dispatcher.DispatchController): void;
  end(): void;
  error(error: Error): void;
}

let turn: Promise<void> | null = null;

/**
 * Resolves on the next turn of the event loop, once for all that wait in this one: the calls
 * that end together are recorded together, one after the other, while that code is hot in the
 * CPU's caches (bench/proxy.mjs: about a tenth less CPU per call than recording each as it ends).
 * Clients never wait for it: a call is recorded after its response has gone.
 */
function nextTurn(): Promise<void> {
  return (turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = null;
      resolve();
    }),
  ));
}

const origins = new WeakMap<URL, string>();

/** An upstream's origin, worked out once: undici finds its connection pool by this string. */
function originOf(url: URL): string {
  let origin = origins.get(url);
  if (origin === undefined) origins.set(url, (origin = url.origin));
  return origin;
}

function timedOut(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

function decoderFor(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null {
  if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  return null;
}

/** Removes the call's own key (and any configured or key-shaped one) from a line. */
function redactCallKey(line: string, key: string | undefined): string {
  return redactKeys(key ? line.split(key).join('***') : line);
}
