/**
 * The metering reverse proxy: forwards each request to the configured upstream and reads the
 * usage of every call off the response as it passes.
 *
 * - It speaks HTTP/1.1 over plain sockets (http1.ts) rather than through node:http: a proxy
 *   under load spends most of its time in the HTTP machinery, and this way each exchange costs
 *   a parse of each head, one write upstream and, usually, one write back.
 * - Each client connection has its own upstream connection per provider, opened on first use
 *   and kept alive with it, so requests on one connection stay in order and nothing is pooled.
 * - Responses are relayed as they arrive: each upstream chunk is queued for the client before it
 *   is read for usage, and everything queued while handling one chunk leaves in one write.
 *   Only an OpenAI stream whose usage the proxy asked for on the client's behalf is rewritten,
 *   a line at a time (see rewrite.ts).
 * - A non-streamed body is forwarded as it comes and parsed once at its end, never re-serialised.
 * - Every metered call, whatever its end (done, failed, cut, refused), becomes one CallRecord
 *   through `emit`, the one place records leave the proxy.
 * - Nothing here logs: no header, key or body is ever written anywhere.
 */
import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { redactKeys } from '../errors.js';
import type { PriceTable } from '../pricing/types.js';
import type { CallOutcome, ProviderFailure, ProviderName } from '../providers/types.js';
import { recordOf, type CallRecord, type RecordApi } from '../record.js';
import { formatUsd } from '../render/format.js';
import { decodableAcceptEncoding, keyOf, relayHeaders } from './headers.js';
import {
  chunk,
  framingOf,
  HttpParseError,
  LAST_CHUNK,
  MessageReader,
  parseRequestHead,
  MAX_HEAD_BYTES,
  parseResponseHead,
  serializeHead,
  type Framing,
  type RequestHead,
  type ResponseHead,
} from './http1.js';
import { bodyOutcome, requestHead, sentText, streamMeter, type BodyEnd } from './meter.js';
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
  /** The HTTP proxy each provider's (https) upstream is reached through, if any (see tunnelOf). */
  tunnels?: Partial<Record<ProviderName, URL | null>>;
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

/** How an upstream exchange can fail: before the response's head, or part-way through its body. */
type UpstreamFailure = { phase: 'connect'; error: NodeJS.ErrnoException } | { phase: 'body' };

/** What one upstream exchange reports, in order: head, body pieces, then end or failure. */
interface ResponseHandler {
  head(head: ResponseHead): void;
  body(bytes: Buffer): void;
  end(): void;
  fail(failure: UpstreamFailure): void;
}

/** Idle client connections are closed after this long; clients' own pools give up sooner. */
const CLIENT_IDLE_MS = 120_000;
/**
 * An upstream connection idle longer than this is not reused: servers close idle keep-alive
 * connections (node:http after 5 s), and a request sent just as one does is lost. undici's
 * default, for the same reason.
 */
const UPSTREAM_IDLE_MS = 4_000;
/** Idle upstream connections kept per provider. */
const POOL_SIZE = 64;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
/** The error code of an upstream whose answer is not HTTP/1.1 we can read. */
const MALFORMED = 'HPE_INVALID_RESPONSE';
/** The error code of a proxy that would not open a tunnel. */
const TUNNEL = 'ETUNNEL';

function hangUp(): NodeJS.ErrnoException {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/** Who holds an upstream connection: a client connection, or the idle pool. */
interface UpstreamOwner {
  /** After each chunk from upstream has been handled (the client's writes go out then). */
  afterData(): void;
  /** The connection is closed for good. */
  retired(up: UpstreamConnection): void;
}

/**
 * A keep-alive connection to one upstream, held by one client connection at a time (and by the
 * idle pool between them). One exchange at a time; a response that ends the connection
 * (close-delimited, `connection: close`) retires it.
 */
class UpstreamConnection {
  /** The connection to the upstream (while a tunnel is being set up: to the proxy). */
  socket: net.Socket;
  private readonly reader: MessageReader<ResponseHead>;
  private handler: ResponseHandler | null = null;
  private method = 'GET';
  private interim = false;
  private reusable = true;
  private gotHead = false;
  /** Bytes written before a tunnel was up, sent once it is. */
  private waiting: (Buffer | string)[] | null = null;
  closed = false;
  /** When its last exchange ended (performance.now()), or when it was opened. */
  idleSince = performance.now();

  constructor(
    url: URL,
    public owner: UpstreamOwner,
    /** An HTTP proxy to reach an https upstream through (CONNECT), or null. */
    via: URL | null,
  ) {
    const secure = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port || (secure ? 443 : 80));
    const tlsOptions = { servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] };
    this.reader = new MessageReader(parseResponseHead, {
      head: (head) => this.onHead(head),
      body: (bytes) => this.handler?.body(bytes),
      end: () => this.onEnd(),
    });
    if (secure && via) {
      this.waiting = [];
      this.socket = net.connect({ host: via.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(via.port || 80) });
      this.tunnel(host, port, via, (raw) => tls.connect({ socket: raw, ...tlsOptions }));
    } else {
      this.socket = secure ? tls.connect({ host, port, ...tlsOptions }) : net.connect({ host, port });
      this.listen();
    }
    this.socket.setNoDelay(true);
  }

  /** Reads responses off the socket, and notices its end. */
  private listen(): void {
    const { socket } = this;
    socket.on('data', (data: Buffer) => {
      try {
        this.reader.push(data);
      } catch (e) {
        this.fail(Object.assign(new Error((e as Error).message), { code: MALFORMED }));
      }
      this.owner.afterData();
    });
    socket.on('end', () => {
      if (this.reader.close() === 'cut') this.fail(hangUp());
      this.owner.afterData();
      this.retire();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(error));
    socket.on('close', () => this.fail(hangUp()));
  }

  /**
   * Asks the proxy for a tunnel to host:port (CONNECT, with its credentials if the proxy URL
   * has them), then speaks TLS through it; what was written meanwhile goes once it is up.
   */
  private tunnel(host: string, port: number, via: URL, secure: (raw: net.Socket) => net.Socket): void {
    const raw = this.socket;
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const credentials = via.username ? `${decodeURIComponent(via.username)}:${decodeURIComponent(via.password)}` : '';
    const auth = credentials ? `Proxy-Authorization: Basic ${Buffer.from(credentials).toString('base64')}\r\n` : '';
    raw.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    let head = Buffer.alloc(0);
    const onError = (error: NodeJS.ErrnoException) => this.fail(error);
    const onClose = () => this.fail(hangUp());
    const onData = (data: Buffer) => {
      head = Buffer.concat([head, data]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1 && head.length < MAX_HEAD_BYTES) return;
      raw.off('data', onData).off('error', onError).off('close', onClose);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, Math.max(end, 0)))?.[1];
      // Anything after the proxy's answer, before our TLS hello, is not a tunnel.
      if (status !== '200' || head.length !== end + 4) {
        this.fail(Object.assign(new Error(status ? `the proxy answered ${status}` : 'the proxy did not answer CONNECT'), { code: TUNNEL }));
        raw.destroy();
        return;
      }
      this.socket = secure(raw);
      this.socket.setNoDelay(true);
      this.listen();
      const waiting = this.waiting ?? [];
      this.waiting = null;
      for (const bytes of waiting) this.socket.write(bytes);
    };
    raw.on('data', onData).on('error', onError).on('close', onClose);
  }

  get busy(): boolean {
    return this.handler !== null;
  }

  /** Idle, open, and not idle so long that the server may be closing it as we send. */
  get fresh(): boolean {
    return !this.closed && this.handler === null && performance.now() - this.idleSince < UPSTREAM_IDLE_MS;
  }

  /** Closes it for good (an idle connection nobody will use). */
  close(): void {
    this.retire();
  }

  /** Sends one request (head and any body already in `bytes`); the response goes to `handler`. */
  send(method: string, bytes: Buffer | string, handler: ResponseHandler): void {
    this.method = method;
    this.handler = handler;
    this.gotHead = false;
    this.write(bytes);
  }

  /** More of the request's body (a pass-through request streams it); false: wait for 'drain'. */
  write(bytes: Buffer | string): boolean {
    if (this.waiting) {
      this.waiting.push(bytes);
      return true;
    }
    return this.socket.write(bytes);
  }

  /** Abandons the exchange under way (the client left): the connection cannot be reused. */
  abandon(): void {
    this.handler = null;
    this.retire();
  }

  private onHead(head: ResponseHead): Framing {
    if (head.status >= 100 && head.status < 200) {
      // 100 Continue or 103 Early Hints: nothing the client needs, the real head follows.
      this.interim = true;
      return { kind: 'none' };
    }
    this.gotHead = true;
    const connection = (head.headers['connection'] ?? '').toLowerCase();
    this.reusable = head.minor === 1 ? !connection.includes('close') : connection.includes('keep-alive');
    this.handler?.head(head);
    if (this.method === 'HEAD' || head.status === 204 || head.status === 304) return { kind: 'none' };
    const framing = framingOf(head.headers, { kind: 'close' });
    if (framing.kind === 'close') this.reusable = false;
    return framing;
  }

  private onEnd(): void {
    if (this.interim) {
      this.interim = false;
      this.reader.next();
      return;
    }
    const handler = this.handler;
    this.handler = null;
    this.idleSince = performance.now();
    if (this.reusable && this.reader.heldBytes === 0) this.reader.next();
    else this.retire();
    handler?.end();
  }

  /** The exchange under way, if any, fails: before its response's head, or part-way through its body. */
  private fail(error: NodeJS.ErrnoException): void {
    const handler = this.handler;
    this.handler = null;
    this.retire();
    handler?.fail(this.gotHead ? { phase: 'body' } : { phase: 'connect', error });
  }

  private retire(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.owner.retired(this);
  }
}

export async function startProxy(opts: ProxyOptions): Promise<MeteringProxy> {
  const stats: ProxyStats = { unmetered: 0, refused: 0, spentUsd: 0 };
  const running = new Set<Promise<void>>();
  const connections = new Set<ClientConnection>();
  let closing = false;

  /**
   * Idle upstream connections, per provider. A client connection takes one for each exchange
   * and gives it back after, so any client's call can use any idle connection: a client that
   * opens a connection per call (urllib, requests without a session), or keeps several, still
   * reuses the TCP and TLS connections already open. The most recently used goes first.
   */
  const pool = new Map<string, UpstreamConnection[]>();
  const pooled: UpstreamOwner = {
    afterData() {},
    retired(up) {
      for (const [key, list] of pool) if (list.includes(up)) pool.set(key, list.filter((u) => u !== up));
    },
  };
  function release(key: string, up: UpstreamConnection): void {
    const list = pool.get(key) ?? [];
    if (closing || !up.fresh || list.length >= POOL_SIZE) {
      up.close();
      return;
    }
    up.owner = pooled;
    list.push(up);
    pool.set(key, list);
  }
  function take(key: string): UpstreamConnection | null {
    const list = pool.get(key);
    while (list?.length) {
      const up = list.pop() as UpstreamConnection;
      if (up.fresh) return up;
      up.close();
    }
    return null;
  }
  // Connections left idle past their freshness are closed, not kept until someone wants one.
  const sweep = setInterval(() => {
    for (const list of pool.values()) for (const up of list.filter((u) => !u.fresh)) up.close();
  }, UPSTREAM_IDLE_MS / 2);
  sweep.unref();

  /** Every metered call leaves the proxy here, once: the budget's running total, then the hook. */
  function emit(record: CallRecord): void {
    if (record.cost_usd !== null) stats.spentUsd += record.cost_usd;
    opts.onRecord(record);
  }

  function upstreamOf(route: Route): URL {
    return route.provider === 'openai' ? opts.upstreams.openai : opts.upstreams.anthropic;
  }

  function unreachable(route: Route, err: NodeJS.ErrnoException): string {
    const url = displayUrl(upstreamOf(route));
    if (err.code === MALFORMED) return `llm-usage proxy: malformed response from ${url} (${err.message})`;
    const via = opts.tunnels?.[route.provider];
    const through = via ? ` through the proxy ${displayUrl(via)}` : '';
    return `llm-usage proxy: cannot reach ${url}${through} (${err.code === TUNNEL ? err.message : (err.code ?? err.message)})`;
  }

  /** The head of a request to send upstream. */
  function upstreamHead(method: string, route: Route, head: RequestHead, drop: string[], add: [string, string][]): string {
    return serializeHead(`${method} ${route.upstreamPath} HTTP/1.1`, relayHeaders(head.rawHeaders, ['host', 'expect', ...drop], [['host', upstreamOf(route).host], ...add]));
  }

  /**
   * One client connection: reads its requests one at a time and answers each in order. Holds
   * the exchange under way, the bytes queued for the client, and its upstream connections.
   */
  class ClientConnection {
    private readonly reader: MessageReader<RequestHead>;
    private queued: Buffer[] = [];
    private flushing = false;
    private readonly upstreams = new Map<string, UpstreamConnection>();
    /** The exchange under way: its request's body and end go to it; `gone` when the client leaves. */
    private exchange: { body(bytes: Buffer): void; end(): void; gone(): void } | null = null;
    /** The response under way has been queued in full. */
    private answered = false;
    private requestDone = false;
    private closeAfter = false;
    /** The upstream to resume once the client has drained what it was sent. */
    private held: UpstreamConnection | null = null;
    destroyed = false;
    /** The last response has gone: nothing more is read. */
    private ending = false;

    constructor(readonly socket: net.Socket) {
      socket.setNoDelay(true);
      socket.setTimeout(CLIENT_IDLE_MS, () => {
        if (!this.exchange) this.destroy();
      });
      this.reader = new MessageReader(parseRequestHead, {
        head: (head) => this.onRequest(head),
        body: (bytes) => this.exchange?.body(bytes),
        end: () => {
          this.requestDone = true;
          this.exchange?.end();
          this.maybeNext();
        },
      });
      socket.on('data', (data: Buffer) => {
        if (this.ending) return;
        try {
          this.reader.push(data);
        } catch (e) {
          this.malformed(e);
        }
        // A pipelined request waits for the response before it; a lot of them waits on TCP.
        if (this.reader.heldBytes > 1024 * 1024) socket.pause();
      });
      socket.on('drain', () => {
        const held = this.held;
        this.held = null;
        held?.socket.resume();
      });
      socket.on('error', () => this.destroy());
      // A client's FIN is its leaving, as node:http takes it: a call under way is abandoned.
      socket.on('end', () => this.destroy());
      socket.on('close', () => this.destroy());
    }

    get idle(): boolean {
      return this.exchange === null;
    }

    /** Queues bytes for the client; everything queued in one turn leaves in one write. */
    send(bytes: Buffer | string): void {
      if (this.destroyed) return;
      this.queued.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(this.flush);
      }
    }

    readonly flush = (): void => {
      this.flushing = false;
      const { queued } = this;
      if (queued.length === 0 || this.destroyed) return;
      this.queued = [];
      const ok = this.socket.write(queued.length === 1 ? (queued[0] as Buffer) : Buffer.concat(queued));
      if (!ok && !this.held) {
        // The client reads slower than upstream sends: hold upstream until it catches up.
        for (const up of this.upstreams.values()) {
          if (up.busy) {
            up.socket.pause();
            this.held = up;
          }
        }
      }
    };

    /** As the owner of its upstream connections. */
    private readonly owner: UpstreamOwner = {
      afterData: this.flush,
      retired: (up) => {
        for (const [key, u] of this.upstreams) if (u === up) this.upstreams.delete(key);
        if (this.held === up) this.held = null;
      },
    };

    /** The upstream connection for a route's provider: its own, an idle one from the pool, or a new one. */
    upstream(route: Route): UpstreamConnection {
      const key = route.provider;
      const existing = this.upstreams.get(key);
      if (existing?.fresh) return existing;
      existing?.close();
      const up = take(key) ?? new UpstreamConnection(upstreamOf(route), this.owner, opts.tunnels?.[key] ?? null);
      up.owner = this.owner;
      this.upstreams.set(key, up);
      return up;
    }

    /** An answer of the proxy's own, whole. */
    reply(r: ErrorReply, minor: 0 | 1 = 1): void {
      const headers = Object.entries(r.headers).flat();
      if (minor === 0) this.closeAfter = true;
      if (this.closeAfter) headers.push('connection', 'close');
      this.send(serializeHead(`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}`, headers));
      this.send(Buffer.from(r.body));
      this.answered = true;
      this.maybeNext();
    }

    /** A response's head, with the framing this hop uses; returns how to frame its body. */
    responseHead(head: ResponseHead, request: RequestHead, drop: string[], bodyless: boolean, keepLength: boolean): 'raw' | 'chunked' | 'close' {
      let framing: 'raw' | 'chunked' | 'close' = 'raw';
      const add: [string, string][] = [];
      if (!bodyless && !keepLength) {
        if (request.minor === 1) {
          framing = 'chunked';
          add.push(['transfer-encoding', 'chunked']);
        } else framing = 'close';
      }
      if (framing === 'close' || request.minor === 0) this.closeAfter = true;
      if (this.closeAfter) add.push(['connection', 'close']);
      this.send(serializeHead(`HTTP/1.1 ${head.status} ${head.reason}`, relayHeaders(head.rawHeaders, keepLength || bodyless ? drop : ['content-length', ...drop], add)));
      return framing;
    }

    /** The response has been queued in full. */
    finished(): void {
      this.answered = true;
      this.maybeNext();
    }

    /** Cuts the client off mid-response, so it cannot take a partial body for a whole one. */
    destroy(): void {
      if (this.destroyed) return;
      // What is queued leaves first: the client sees everything up to the cut.
      this.flush();
      this.destroyed = true;
      this.socket.destroy();
      // The exchange under way first: it abandons an upstream connection it leaves unusable.
      const exchange = this.exchange;
      this.exchange = null;
      exchange?.gone();
      this.releaseUpstreams();
      connections.delete(this);
    }

    /** Its upstream connections go back to the pool; one mid-exchange cannot be reused. */
    private releaseUpstreams(): void {
      for (const [key, up] of this.upstreams) {
        if (this.held === up) {
          this.held = null;
          up.socket.resume();
        }
        if (up.busy) up.abandon();
        else release(key, up);
      }
      this.upstreams.clear();
    }

    private maybeNext(): void {
      if (!this.answered || !this.requestDone || !this.exchange) return;
      this.exchange = null;
      this.releaseUpstreams();
      if (this.closeAfter || closing) {
        // Everything queued goes first, then the connection ends (and is forgotten on 'close').
        this.flush();
        this.socket.end();
        this.ending = true;
        return;
      }
      if (this.socket.isPaused()) this.socket.resume();
      try {
        this.reader.next();
      } catch (e) {
        this.malformed(e);
      }
    }

    private malformed(e: unknown): void {
      if (this.exchange || !(e instanceof HttpParseError)) {
        // A request whose body broke off (nothing went upstream that can be answered now), or
        // a bug of ours: this connection ends, the program's other calls go on.
        this.destroy();
        return;
      }
      this.closeAfter = true;
      this.exchange = { body() {}, end() {}, gone() {} };
      this.requestDone = true;
      const text = `llm-usage proxy: ${e.message}\n`;
      this.send(serializeHead(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}`, ['content-type', 'text/plain', 'content-length', String(text.length), 'connection', 'close']));
      this.send(text);
      this.answered = true;
      this.maybeNext();
    }

    private onRequest(head: RequestHead): Framing {
      const framing = framingOf(head.headers, { kind: 'none' });
      this.answered = false;
      this.requestDone = false;
      const connection = (head.headers['connection'] ?? '').toLowerCase();
      if (head.minor === 0 ? !connection.includes('keep-alive') : connection.includes('close')) this.closeAfter = true;
      // A client waiting for leave to send its body gets it at once: every request is read.
      if (head.minor === 1 && (head.headers['expect'] ?? '').toLowerCase() === '100-continue') this.send(CONTINUE);

      const route = routeOf(head.method, head.target, head.headers, opts.upstreams);
      if (!route) {
        this.exchange = { body() {}, end: () => {}, gone() {} };
        const path = head.target.split('?')[0] ?? '';
        const provider = head.headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
        this.reply(errorReply(provider, 'no-route', `llm-usage proxy: no route for ${head.method} ${path}: OpenAI clients use ${origin}/v1 as their base URL, Anthropic clients ${origin}`), head.minor);
        return framing;
      }
      if (route.api === null) {
        stats.unmetered++;
        this.exchange = passThrough(this, head, route, framing);
      } else {
        const work = new Promise<void>((resolve) => {
          this.exchange = metered(this, head, route, route.api as RecordApi, (record) => {
            if (record) emit(record);
            resolve();
          });
        });
        running.add(work);
        void work.finally(() => running.delete(work));
      }
      return framing;
    }
  }

  /** A path that carries no usage: both bodies stream straight through. */
  function passThrough(client: ClientConnection, head: RequestHead, route: Route, framing: Framing) {
    const up = client.upstream(route);
    const chunked = framing.kind === 'chunked';
    let bodyFraming: 'raw' | 'chunked' | 'close' = 'raw';
    let started = false;
    let done = false;
    up.send(head.method, upstreamHead(head.method, route, head, [], chunked ? [['transfer-encoding', 'chunked']] : []), {
      head(response) {
        started = true;
        const bodyless = head.method === 'HEAD' || response.status === 204 || response.status === 304;
        bodyFraming = client.responseHead(response, head, [], bodyless, response.headers['content-length'] !== undefined);
      },
      body(bytes) {
        if (bodyFraming === 'chunked') for (const piece of chunk(bytes)) client.send(piece);
        else client.send(bytes);
      },
      end() {
        done = true;
        if (bodyFraming === 'chunked') client.send(LAST_CHUNK);
        client.finished();
      },
      fail(failure) {
        done = true;
        if (!started && failure.phase === 'connect') client.reply(errorReply(route.provider, 'unreachable', unreachable(route, failure.error)), head.minor);
        else client.destroy();
      },
    });
    return {
      // The request body goes on even after an early answer (a 401 before the upload ends):
      // the upstream connection is kept, so it must see the whole request.
      body(bytes: Buffer) {
        const ok = chunked ? chunk(bytes).map((piece) => up.write(piece)).every(Boolean) : up.write(bytes);
        if (!ok) {
          client.socket.pause();
          up.socket.once('drain', () => client.socket.resume());
        }
      },
      end() {
        if (chunked) up.write(LAST_CHUNK);
      },
      gone() {
        up.abandon();
      },
    };
  }

  /**
   * A metered call: the request is read whole, sent on (with usage asked for, if it is an
   * OpenAI stream that did not), and its response relayed and metered. `done` gets its record
   * (null when the client left before its request was complete: nothing went upstream).
   */
  function metered(client: ClientConnection, head: RequestHead, route: Route, api: RecordApi, done: (record: CallRecord | null) => void) {
    const started = performance.now();
    const parts: Buffer[] = [];
    let call: Call | null = null;
    /** Set while a response is being relayed: what to do if the client leaves. */
    let onGone: (() => void) | null = null;
    let finished = false;
    const finish = (record: Promise<CallRecord> | null) => {
      if (finished) return;
      finished = true;
      if (record) void record.then(done, () => done(null));
      else done(null);
    };
    const failed = (c: Call, failure: ProviderFailure, error?: string) => finish(recorded(c, { text: [], model: null, usage: null, failure }, error));

    const start = () => {
      const raw = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
      const c: Call = { route, api, body, ...requestHead(body), key: keyOf(head.headers), started };
      call = c;

      if (opts.maxCostUsd !== undefined && stats.spentUsd >= opts.maxCostUsd) {
        stats.refused++;
        const max = formatUsd(opts.maxCostUsd);
        const message = `llm-usage: budget exceeded: ${formatUsd(stats.spentUsd)} spent of --max-cost ${max}; this request was not sent to ${route.provider}`;
        client.reply(errorReply(route.provider, 'budget', message), head.minor);
        failed(c, { kind: 'http', status: 429, type: 'budget_exceeded', message }, `${REFUSED}: --max-cost ${max} reached; not sent`);
        return;
      }

      const encodings = decodableAcceptEncoding(head.headers['accept-encoding']);
      const injected = (api === 'chat' || api === 'completions') && isObject(body) ? withIncludeUsage(raw, body) : null;
      // An injected request asks for no compression, so the stream can be edited as it passes.
      send(c, injected ?? raw, injected ? 'identity' : encodings, injected !== null, raw, encodings);
    };

    /** Sends the request upstream and relays its answer; `fallback` is the client's own request. */
    const send = (c: Call, bytes: Buffer, acceptEncoding: string | undefined, rewrite: boolean, fallback: Buffer, fallbackEncoding: string | undefined) => {
      const up = client.upstream(route);
      const add: [string, string][] = [['content-length', String(bytes.length)]];
      if (acceptEncoding !== undefined) add.push(['accept-encoding', acceptEncoding]);
      const requestHead = upstreamHead(head.method, route, head, ['content-length', 'accept-encoding'], add);
      let relay: Relay | null = null;
      let retried = false;
      onGone = () => {
        up.abandon();
        failed(c, { kind: 'aborted', message: 'the client closed the connection before the response' });
      };
      up.send(head.method, Buffer.concat([Buffer.from(requestHead, 'latin1'), bytes]), {
        head(response) {
          if (rewrite && response.status === 400) {
            // Some OpenAI-compatible servers reject stream_options: the client's request, exactly
            // as it sent it, gets its own answer, and usage is estimated.
            retried = true;
            return;
          }
          relay = new Relay(c, client, head, response, rewrite, (outcome) => finish(recorded(c, outcome)));
          onGone = () => {
            up.abandon();
            relay?.finish('aborted');
          };
        },
        body(bytes) {
          relay?.body(bytes);
        },
        end() {
          if (retried) send(c, fallback, fallbackEncoding, false, fallback, fallbackEncoding);
          else relay?.finish('complete');
        },
        fail(failure) {
          if (relay) {
            relay.finish('cut');
            return;
          }
          const error = failure.phase === 'connect' ? failure.error : Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          const message = unreachable(route, error);
          client.reply(errorReply(route.provider, 'unreachable', message), head.minor);
          const where = route.provider === 'openai' ? '--openai-upstream or OPENAI_BASE_URL' : '--anthropic-upstream or ANTHROPIC_BASE_URL';
          failed(c, { kind: 'connection', message }, `${message.replace(/^llm-usage proxy: /, '')}: answered 502 (check ${where})`);
        },
      });
    };

    return {
      body(bytes: Buffer) {
        parts.push(bytes);
      },
      end: start,
      gone() {
        if (onGone) onGone();
        else finish(null);
      },
    };
  }

  /**
   * Relays one upstream response to the client while metering it; `onOutcome` gets the call's
   * outcome once the body has ended, been cut, or been abandoned by the client.
   */
  class Relay {
    private readonly meter;
    private readonly splitter = new LineSplitter();
    private readonly reader;
    private readonly stripper: UsageStripper | null;
    private readonly decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null;
    private readonly unreadable: boolean;
    private readonly editing: boolean;
    private readonly status: number;
    private readonly requestId: string | undefined;
    private readonly framing: 'raw' | 'chunked' | 'close';
    private readonly bodyParts: Buffer[] = [];
    private ended = false;
    private settled = false;

    constructor(
      private readonly call: Call,
      private readonly client: ClientConnection,
      request: RequestHead,
      response: ResponseHead,
      rewrite: boolean,
      private readonly onOutcome: (outcome: CallOutcome) => void,
    ) {
      const status = response.status;
      this.status = status;
      this.requestId = response.headers['x-request-id'] ?? response.headers['request-id'];
      const stream = status >= 200 && status < 300 && /^text\/event-stream/i.test(response.headers['content-type'] ?? '');
      const coding = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
      const encoding = coding === 'identity' ? '' : coding;
      this.decoder = encoding ? decoderFor(encoding) : null;
      // A coding we cannot decode (asked for none of them, but sent anyway): relayed, not read.
      this.unreadable = encoding !== '' && this.decoder === null;
      this.editing = stream && rewrite && !this.unreadable;
      this.meter = stream ? streamMeter(call.api) : null;
      this.reader = new SseReader(this.meter?.wants);
      this.stripper = this.editing && this.meter ? new UsageStripper(this.meter) : null;
      // An edited stream changes length; one that came encoded anyway is forwarded decoded.
      const drop = this.editing && encoding ? ['content-encoding'] : [];
      const bodyless = request.method === 'HEAD' || status === 204 || status === 304;
      this.framing = client.responseHead(response, request, drop, bodyless, !this.editing && response.headers['content-length'] !== undefined);

      const decoder = this.decoder;
      if (decoder) {
        decoder.on('data', (bytes: Buffer) => this.read(bytes));
        decoder.on('end', () => {
          if (this.editing) this.endClient();
          this.settle('complete');
        });
        decoder.on('error', () => {
          // Undecodable bytes: the client has them as sent; the meter cannot read them.
          if (this.editing) this.client.destroy();
          this.settle('complete');
        });
      }
    }

    body(bytes: Buffer): void {
      // The client's bytes go out first; metering reads them after.
      if (!this.editing) this.write(bytes);
      if (this.decoder) this.decoder.write(bytes);
      else if (!this.unreadable) this.read(bytes);
    }

    /** The body ended: cleanly, cut upstream, or abandoned by the client. */
    finish(end: BodyEnd): void {
      if (this.ended) return;
      this.ended = true;
      if (end !== 'complete') {
        this.client.destroy();
        this.decoder?.destroy();
        this.settle(end);
      } else if (this.decoder) {
        // The decoder still holds bytes: an edited stream's end, and the outcome, wait for it.
        if (!this.editing) this.endBody();
        this.decoder.end();
      } else {
        this.endClient();
        this.settle(end);
      }
    }

    private write(bytes: Buffer): void {
      if (bytes.length === 0) return;
      if (this.framing === 'chunked') for (const piece of chunk(bytes)) this.client.send(piece);
      else this.client.send(bytes);
    }

    /** Reads decoded bytes: an edited stream's lines, a stream's events, or a body kept for its end. */
    private read(bytes: Buffer): void {
      const { stripper, meter } = this;
      if (stripper) {
        const out = stripper.push(bytes);
        if (out.length) this.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
      } else if (meter) {
        this.splitter.scan(bytes, (buf, start, end) => {
          const event = this.reader.lineAt(buf, start, end);
          if (event) meter.raw(event.event, event.data);
        });
      } else this.bodyParts.push(bytes);
    }

    private endClient(): void {
      // A last line without its newline: forwarded as it came.
      const rest = this.stripper?.rest();
      if (rest) this.write(rest);
      this.endBody();
    }

    private endBody(): void {
      if (this.framing === 'chunked') this.client.send(LAST_CHUNK);
      this.client.finished();
    }

    private settle(end: BodyEnd): void {
      if (this.settled) return;
      this.settled = true;
      const { call, status } = this;
      let outcome: CallOutcome;
      if (this.unreadable) {
        outcome = { text: [], model: null, usage: null };
        if (end !== 'complete' || status >= 300) outcome = bodyOutcome(call.api, status, '', end);
      } else if (this.meter) outcome = this.meter.outcome(end);
      else outcome = bodyOutcome(call.api, status, Buffer.concat(this.bodyParts).toString('utf8'), end);
      if (this.requestId) outcome.requestId = this.requestId;
      this.onOutcome(outcome);
    }
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

  const server = net.createServer({ noDelay: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    connections.add(new ClientConnection(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  const origin = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;

  return {
    origin,
    port,
    stats: () => ({ ...stats }),
    async close(graceMs = 2000) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of connections) if (c.idle) c.destroy();
      const cut = setTimeout(() => {
        for (const c of connections) c.destroy();
      }, graceMs);
      await closed;
      while (running.size) await Promise.allSettled([...running]);
      clearTimeout(cut);
      clearInterval(sweep);
      for (const list of pool.values()) for (const up of [...list]) up.close();
    },
  };
}


function decoderFor(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null {
  if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Removes the call's own key (and any configured or key-shaped one) from a line. */
function redactCallKey(line: string, key: string | undefined): string {
  return redactKeys(key ? line.split(key).join('***') : line);
}
