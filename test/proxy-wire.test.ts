// The proxy as a client and an upstream see it on the wire: every byte the client sends is
// written by the test, and an upstream answers byte by byte where the test needs it to. These
// are the behaviours node:http (in) and undici (out) give the proxy, checked through it, and a
// regression test for each hole the hand-written HTTP/1.1 it replaced had.
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { limitsOf, type ProxyLimits } from '../src/proxy/limits.js';
import { startProxy, type MeteringProxy } from '../src/proxy/server.js';
import { loadPriceTable } from '../src/pricing/table.js';
import type { CallRecord } from '../src/record.js';

// ---------------------------------------------------------------------------------------------
// The proxy over raw sockets: the test writes every byte the client sends.

interface Reply {
  status: number;
  /** Lower-cased names; repeats joined with ", ". */
  headers: Record<string, string>;
  framing: 'none' | 'length' | 'chunked' | 'close';
  /** The body, de-chunked. */
  body: Buffer;
}

/**
 * The complete responses at the start of `data`, read independently of http1.ts. `methods`
 * are the requests' methods in order (a HEAD's response has no body); 1xx responses are kept.
 */
function parseReplies(data: Buffer, closed: boolean, methods: readonly string[] = []): Reply[] {
  const replies: Reply[] = [];
  let at = 0;
  let answered = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const lines = data.toString('latin1', at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0] ?? '')?.[1]);
    if (!Number.isInteger(status)) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let p = end + 4;
    const interim = status < 200;
    const method = interim ? undefined : methods[answered++];
    let body: Buffer = Buffer.alloc(0);
    let framing: Reply['framing'];
    if (interim || method === 'HEAD' || status === 204 || status === 304) framing = 'none';
    else if (headers['transfer-encoding'] !== undefined) {
      if (headers['transfer-encoding'] !== 'chunked') throw new Error(`transfer-encoding ${headers['transfer-encoding']}`);
      framing = 'chunked';
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const eol = data.indexOf('\r\n', p);
        if (eol === -1) break;
        const size = parseInt(data.toString('latin1', p, eol).split(';')[0] ?? '', 16);
        if (Number.isNaN(size)) throw new Error(`bad chunk size at ${p}: ${JSON.stringify(data.toString('latin1', p, eol))}`);
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n\r\n', eol);
          if (trailerEnd === -1) break;
          p = trailerEnd + 4;
          complete = true;
          break;
        }
        if (data.length < eol + 2 + size + 2) break;
        parts.push(data.subarray(eol + 2, eol + 2 + size));
        if (data.toString('latin1', eol + 2 + size, eol + 4 + size) !== '\r\n') throw new Error('chunk not followed by CRLF');
        p = eol + 4 + size;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      framing = 'length';
      const length = Number(headers['content-length']);
      if (data.length < p + length) break;
      body = data.subarray(p, p + length);
      p += length;
    } else {
      framing = 'close';
      if (!closed) break;
      body = data.subarray(p);
      p = data.length;
    }
    replies.push({ status, headers, framing, body });
    at = p;
  }
  return replies;
}

/** A raw client connection: every byte it has received, and whether it has been closed. */
class Wire {
  private pieces: Buffer[] = [];
  private joined: Buffer | null = null;
  closed = false;
  private readonly checks = new Set<() => void>();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.pieces.push(d);
      this.joined = null;
      for (const check of this.checks) check();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const check of this.checks) check();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        const wire = new Wire(socket);
        wires.push(wire);
        resolve(wire);
      });
      socket.once('error', reject);
    });
  }

  get data(): Buffer {
    this.joined ??= Buffer.concat(this.pieces);
    return this.joined;
  }

  text(): string {
    const t = this.data.toString('latin1');
    return JSON.stringify(t.length > 600 ? `${t.slice(0, 600)}…` : t);
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  replies(methods: readonly string[] = []): Reply[] {
    return parseReplies(this.data, this.closed, methods);
  }

  /** Resolves once `done` holds; rejects if the connection closes first, or after `ms`. */
  until(done: () => boolean, what: string, ms = 1500): Promise<void> {
    return new Promise((resolve, reject) => {
      const stop = () => {
        clearTimeout(timer);
        this.checks.delete(check);
      };
      const check = () => {
        if (done()) {
          stop();
          resolve();
        } else if (this.closed) {
          stop();
          reject(new Error(`the connection closed before ${what}; received ${this.text()}`));
        }
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out waiting for ${what}; received ${this.text()}`));
      }, ms);
      this.checks.add(check);
      check();
    });
  }

  /** The responses, once `n` of them (not counting 1xx) are complete. */
  async answers(n: number, methods: readonly string[] = [], ms?: number): Promise<Reply[]> {
    await this.until(() => this.replies(methods).filter((r) => r.status >= 200).length >= n, `${n} responses`, ms);
    return this.replies(methods);
  }

  closedByPeer(ms?: number): Promise<void> {
    return this.until(() => this.closed, 'the proxy to close the connection', ms);
  }
}
const wires: Wire[] = [];

/** A request as raw bytes, JSON body and content-length included. */
function post(path: string, body: unknown, fields: string[] = [], version = '1.1'): string {
  const json = JSON.stringify(body);
  return `POST ${path} HTTP/${version}\r\nHost: proxy.local\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n${json}`;
}

function chatReply(model: string, prompt: number, completion: number): string {
  return JSON.stringify({
    id: `chatcmpl-${model}`,
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  });
}

const ANTHROPIC_SSE =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"claude-3-5-haiku-20241022","usage":{"input_tokens":12,"output_tokens":1}}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi 🙂"}}\n\n' +
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":4}}\n\n' +
  'event: message_stop\ndata: {"type":"message_stop"}\n\n';

/** Deterministic bytes that are not all alike, so a lost, doubled or reordered piece shows. */
function patterned(length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = 0x12345678;
  for (let i = 0; i + 4 <= length; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.writeUInt32LE(x, i);
  }
  return out;
}

const bytes = (text: string) => Buffer.from(text, 'latin1');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Script = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void | Promise<void>;

describe('the proxy over raw sockets', () => {
  let upstream: http.Server;
  let upstreamUrl: string;
  let script: Script;
  /** When set and it returns true, it has answered the request at once, before its body came. */
  let early: ((req: http.IncomingMessage, res: http.ServerResponse) => boolean) | null = null;
  const seen: { method: string; url: string; version: string; port: number | undefined; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let proxy: MeteringProxy | undefined;
  let records: CallRecord[] = [];
  const raws: { server: net.Server; sockets: Set<net.Socket> }[] = [];
  const table = loadPriceTable();

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const answered = early?.(req, res) ?? false;
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts).toString();
        seen.push({ method: req.method ?? '', url: req.url ?? '', version: req.httpVersion, port: req.socket.remotePort, headers: req.headers, body });
        if (!answered) void script(req, body, res);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        upstream.closeAllConnections();
        upstream.close(() => resolve());
      }),
  );
  afterEach(async () => {
    for (const wire of wires.splice(0)) wire.socket.destroy();
    await proxy?.close(100);
    proxy = undefined;
    for (const { server, sockets } of raws.splice(0)) {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    records = [];
    seen.length = 0;
    early = null;
  });

  /** Starts the proxy; returns its port. */
  async function start(upstreams: { openai?: string; anthropic?: string; azure?: string } = {}, extra: { limits?: Partial<ProxyLimits>; maxCostUsd?: number } = {}): Promise<number> {
    proxy = await startProxy({
      host: '127.0.0.1',
      port: 0,
      upstreams: {
        openai: new URL(upstreams.openai ?? `${upstreamUrl}/v1`),
        anthropic: new URL(upstreams.anthropic ?? upstreamUrl),
        ...(upstreams.azure ? { azure: new URL(upstreams.azure) } : {}),
      },
      table,
      limits: { ...limitsOf({}), ...extra.limits },
      maxCostUsd: extra.maxCostUsd,
      onRecord: (r) => records.push(r),
    });
    return proxy.port;
  }

  const settled = async (n: number) => {
    for (let i = 0; i < 100 && records.length < n; i++) await sleep(10);
    return records;
  };

  /**
   * An upstream written byte by byte: `answer` gets each request (head and content-length
   * body) as it arrives, and the socket to answer on.
   */
  async function rawUpstream(answer: (socket: net.Socket, request: string, index: number) => void): Promise<{ url: string; requests: string[]; connections: number }> {
    const up = { url: '', requests: [] as string[], connections: 0 };
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      up.connections++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      let buffered = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        buffered = Buffer.concat([buffered, d]);
        for (;;) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end === -1) return;
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.toString('latin1', 0, end))?.[1] ?? 0);
          if (buffered.length < end + 4 + length) return;
          const request = buffered.toString('utf8', 0, end + 4 + length);
          buffered = buffered.subarray(end + 4 + length);
          up.requests.push(request);
          answer(socket, request, up.requests.length - 1);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    raws.push({ server, sockets });
    up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return up;
  }

  it('answers two pipelined metered requests on one connection, in order, and meters both', async () => {
    const usage: Record<string, [number, number]> = { 'gpt-4o-mini': [11, 7], 'gpt-4o': [13, 5] };
    script = async (_req, body, res) => {
      const { model } = JSON.parse(body) as { model: string };
      // The first is answered later than the second would be, had it been sent at once.
      if (model === 'gpt-4o-mini') await sleep(40);
      const [prompt, completion] = usage[model] ?? [0, 0];
      const json = chatReply(model, prompt, completion);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), 'x-request-id': `req-${model}` });
      res.end(json);
    };
    const port = await start();
    const wire = await Wire.open(port);
    wire.write(
      post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] }) +
        post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'two' }] }),
    );
    const replies = await wire.answers(2);
    expect(replies).toHaveLength(2);
    expect(replies.map((r) => [r.status, r.headers['x-request-id'], JSON.parse(r.body.toString()).id])).toEqual([
      [200, 'req-gpt-4o-mini', 'chatcmpl-gpt-4o-mini'],
      [200, 'req-gpt-4o', 'chatcmpl-gpt-4o'],
    ]);
    expect(replies[0]?.body.toString()).toBe(chatReply('gpt-4o-mini', 11, 7));
    expect(wire.closed).toBe(false);
    expect(seen.map((s) => JSON.parse(s.body).model)).toEqual(['gpt-4o-mini', 'gpt-4o']);
    const recs = await settled(2);
    expect(recs).toHaveLength(2);
    // Records come as calls end: the second ended first.
    recs.sort((a, b) => a.model.localeCompare(b.model)).reverse();
    expect(recs[0]).toMatchObject({ provider: 'openai', api: 'chat', model: 'gpt-4o-mini', ok: true, usage_source: 'reported', usage: { input_tokens: 11, output_tokens: 7 }, request_id: 'req-gpt-4o-mini' });
    expect(recs[1]).toMatchObject({ provider: 'openai', api: 'chat', model: 'gpt-4o', ok: true, usage_source: 'reported', usage: { input_tokens: 13, output_tokens: 5 }, request_id: 'req-gpt-4o' });
  });

  it('sends a chunked request body upstream whole, with a content-length, and meters the call', async () => {
    script = (_req, _body, res) => {
      const json = chatReply('gpt-4o-mini', 21, 3);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    const port = await start();
    const json = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'chunked ünïcødé 🙂' }] }));
    const cuts = [0, 7, 30, json.length - 3, json.length];
    const body = cuts.slice(1).map((to, i) => {
      const piece = json.subarray(cuts[i], to);
      return Buffer.concat([bytes(`${piece.length.toString(16)}${i === 1 ? ';ext=1' : ''}\r\n`), piece, bytes('\r\n')]);
    });
    const wire = await Wire.open(port);
    wire.write(Buffer.concat([bytes('POST /v1/chat/completions HTTP/1.1\r\nHost: proxy.local\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'), ...body, bytes('0\r\nX-Trailer: t\r\n\r\n')]));
    const [reply] = await wire.answers(1);
    expect(reply?.status).toBe(200);
    expect(reply?.body.toString()).toBe(chatReply('gpt-4o-mini', 21, 3));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.body).toBe(json.toString());
    expect(seen[0]?.headers['content-length']).toBe(String(json.length));
    expect(seen[0]?.headers['transfer-encoding']).toBeUndefined();
    expect(seen[0]?.headers['x-trailer']).toBeUndefined();
    expect((await settled(1))[0]).toMatchObject({ api: 'chat', ok: true, usage_source: 'reported', usage: { input_tokens: 21, output_tokens: 3 } });
  });

  it('Expect: 100-continue gets 100 Continue before the body is sent, then the response', async () => {
    script = (_req, _body, res) => {
      const json = chatReply('gpt-4o-mini', 4, 2);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    const port = await start();
    const request = post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, ['Expect: 100-continue']);
    const split = request.indexOf('\r\n\r\n') + 4;
    const wire = await Wire.open(port);
    wire.write(request.slice(0, split));
    await wire.until(() => wire.data.length >= 25, '100 Continue');
    await sleep(20);
    expect(wire.data.toString('latin1')).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    expect(seen).toHaveLength(0);
    wire.write(request.slice(split));
    const replies = await wire.answers(1);
    expect(replies.map((r) => r.status)).toEqual([100, 200]);
    expect(replies[1]?.body.toString()).toBe(chatReply('gpt-4o-mini', 4, 2));
    expect(seen[0]?.headers.expect).toBeUndefined();
    expect((await settled(1))[0]).toMatchObject({ ok: true, usage: { input_tokens: 4, output_tokens: 2 } });
  });

  it('answers an HTTP/1.0 request and then closes the connection', async () => {
    const json = chatReply('gpt-4o-mini', 6, 1);
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    const port = await start();
    const wire = await Wire.open(port);
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, [], '1.0'));
    await wire.closedByPeer();
    const replies = wire.replies();
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ status: 200, framing: 'length', headers: { connection: 'close' } });
    expect(replies[0]?.body.toString()).toBe(json);
    expect(seen[0]?.version).toBe('1.1');
    expect((await settled(1))[0]).toMatchObject({ ok: true, usage: { input_tokens: 6, output_tokens: 1 } });
  });

  it('relays a stream to an HTTP/1.0 client delimited by the close, exactly as upstream sent it', async () => {
    script = async (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_sse' });
      // Pieces cut mid-event and mid-character, each its own upstream chunk.
      const sse = Buffer.from(ANTHROPIC_SSE);
      const emoji = sse.indexOf(Buffer.from('🙂'));
      for (const [from, to] of [[0, 40], [40, emoji + 2], [emoji + 2, sse.length - 10], [sse.length - 10, sse.length]] as const) {
        res.write(sse.subarray(from, to));
        await sleep(5);
      }
      res.end();
    };
    const port = await start();
    const wire = await Wire.open(port);
    wire.write(post('/v1/messages', { model: 'claude-3-5-haiku-20241022', stream: true, max_tokens: 10, messages: [] }, ['anthropic-version: 2023-06-01'], '1.0'));
    await wire.closedByPeer();
    const replies = wire.replies();
    expect(replies).toHaveLength(1);
    expect(replies[0]?.framing).toBe('close');
    expect(replies[0]?.headers).toMatchObject({ 'content-type': 'text/event-stream', connection: 'close', 'request-id': 'req_sse' });
    expect(replies[0]?.headers['content-length']).toBeUndefined();
    expect(replies[0]?.body.toString()).toBe(ANTHROPIC_SSE);
    expect((await settled(1))[0]).toMatchObject({ provider: 'anthropic', api: 'messages', stream: true, ok: true, usage_source: 'reported', usage: { input_tokens: 12, output_tokens: 4 } });
  });

  it('answers what could be read two ways with node:http\'s own 4xx and a close; nothing of it goes upstream', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
      res.end('{"data":[]}');
    };
    const port = await start();
    const head = (fields: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${fields}\r\n`;
    const bad: [string, string][] = [
      ['content-length and transfer-encoding', head('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n') + '0\r\n\r\n'],
      ['transfer-encoding and content-length', head('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n') + '0\r\n\r\n'],
      ['transfer-encoding: gzip', head('Transfer-Encoding: gzip\r\n')],
      ['content-length: abc', head('Content-Length: abc\r\n')],
      ['content-length: -1', head('Content-Length: -1\r\n')],
      ['content-length: +5', head('Content-Length: +5\r\n')],
      ['content-length: 0x10', head('Content-Length: 0x10\r\n')],
      ['two differing content-lengths', head('Content-Length: 5\r\nContent-Length: 6\r\n') + 'hello!'],
      ['a differing content-length list', head('Content-Length: 5, 6\r\n') + 'hello!'],
      ['malformed chunk size', head('Transfer-Encoding: chunked\r\n') + 'zz\r\n'],
      ['negative chunk size', head('Transfer-Encoding: chunked\r\n') + '-5\r\nhello\r\n0\r\n\r\n'],
      ['chunk longer than its size', head('Transfer-Encoding: chunked\r\n') + '3\r\nabcd\r\n0\r\n\r\n'],
      ['bare LF in the head', 'GET /v1/models HTTP/1.1\r\nHost: x\nX-Other: y\r\n\r\n'],
      ['vertical tab before a content-length', head('Content-Length: \x0b2\r\n') + 'hi'],
      ['obs-fold', 'GET /v1/models HTTP/1.1\r\nX-Long: a\r\n  folded\r\nHost: x\r\n\r\n'],
      ['space before a header colon', 'GET /v1/models HTTP/1.1\r\nHost : x\r\n\r\n'],
      ['control character in a header value', 'GET /v1/models HTTP/1.1\r\nHost: x\x00y\r\n\r\n'],
      ['header section over 64 KiB', `GET /v1/models HTTP/1.1\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`],
      ['extra word in the request line', 'GET /v1/models HTTP/1.1 please\r\nHost: x\r\n\r\n'],
      ['method that is not a token', 'G(E)T /v1/models HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['garbage', 'GARBAGE\r\n\r\n'],
    ];
    for (const [name, request] of bad) {
      const wire = await Wire.open(port);
      wire.write(request);
      await wire.closedByPeer();
      const replies = wire.replies();
      expect({ name, statuses: replies.map((r) => r.status >= 400 && r.status < 600), connection: replies[0]?.headers.connection }).toEqual({ name, statuses: [true], connection: 'close' });
    }
    expect(seen).toHaveLength(0);
    expect(records).toHaveLength(0);

    const good = await Wire.open(port);
    good.write('GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n');
    const [reply] = await good.answers(1);
    expect(reply?.status).toBe(200);
    expect(reply?.body.toString()).toBe('{"data":[]}');
    expect(seen).toHaveLength(1);
    expect(records).toHaveLength(0);
  });

  it('passes HEAD and GET through unmetered: headers relayed, no body for HEAD', async () => {
    const models = '{"object":"list","data":[{"id":"gpt-4o"}]}';
    script = (req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(models), 'x-upstream': 'yes', 'openai-version': '2020-10-01' });
      res.end(req.method === 'HEAD' ? undefined : models);
    };
    const port = await start();
    const wire = await Wire.open(port);
    // Pipelined: were any body sent after the HEAD's head, the GET's response would not parse.
    wire.write('HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/models?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    const replies = await wire.answers(2, ['HEAD', 'GET']);
    await sleep(30);
    expect(wire.replies(['HEAD', 'GET'])).toEqual(replies);
    const [head, get] = replies;
    expect(head).toMatchObject({ status: 200, framing: 'none', headers: { 'content-type': 'application/json', 'content-length': String(models.length), 'x-upstream': 'yes', 'openai-version': '2020-10-01' } });
    expect(get).toMatchObject({ status: 200, framing: 'length', headers: { 'content-length': String(models.length), 'x-upstream': 'yes' } });
    expect(get?.body.toString()).toBe(models);
    // Nothing else on the wire: the two responses are all the bytes there are.
    const total = wire.data.toString('latin1');
    expect(total.split('HTTP/1.1 ').length - 1).toBe(2);
    expect(total.endsWith(`\r\n\r\n${models}`)).toBe(true);
    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ['HEAD', '/v1/models'],
      ['GET', '/v1/models?limit=1'],
    ]);
    expect(proxy?.stats().unmetered).toBe(2);
    await sleep(20);
    expect(records).toHaveLength(0);
  });

  it('re-chunks a chunked pass-through response for an HTTP/1.1 client', async () => {
    const content = patterned(100_000);
    script = async (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(content.subarray(0, 1));
      await sleep(5);
      res.end(content.subarray(1));
    };
    const port = await start();
    const wire = await Wire.open(port);
    wire.write('GET /v1/files/file-abc/content HTTP/1.1\r\nHost: x\r\n\r\n');
    const [reply] = await wire.answers(1);
    expect(reply?.framing).toBe('chunked');
    expect(reply?.body.equals(content)).toBe(true);
    expect(wire.closed).toBe(false);
  });

  it('relays a close-delimited upstream body to an HTTP/1.1 client as chunked, byte for byte, and meters it', async () => {
    const bodies = [chatReply('gpt-4o-mini', 31, 9), chatReply('gpt-4o', 2, 40)];
    const up = await rawUpstream((socket, _request, index) => {
      const body = Buffer.from(bodies[index % 2] ?? '');
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`);
      socket.write(body.subarray(0, 10));
      setTimeout(() => socket.end(body.subarray(10)), 10);
    });
    const port = await start({ openai: `${up.url}/v1` });
    const wire = await Wire.open(port);
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }));
    const [first] = await wire.answers(1);
    expect(first?.framing).toBe('chunked');
    expect(first?.headers.connection).toBe('keep-alive');
    expect(first?.body.toString()).toBe(bodies[0]);

    // The client's connection stays open; its next call goes on a new upstream connection.
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o', messages: [] }));
    const replies = await wire.answers(2);
    expect(replies[1]?.framing).toBe('chunked');
    expect(replies[1]?.body.toString()).toBe(bodies[1]);
    expect(up.connections).toBe(2);
    const recs = await settled(2);
    expect(recs.map((r) => [r.ok, r.usage.input_tokens, r.usage.output_tokens])).toEqual([
      [true, 31, 9],
      [true, 2, 40],
    ]);
  });

  it('an upstream that answers with something other than HTTP/1.1: a 502 naming that, and a failed call', async () => {
    const up = await rawUpstream((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    const port = await start({ openai: `${up.url}/v1` });
    const wire = await Wire.open(port);
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }));
    const [reply] = await wire.answers(1);
    expect(reply?.status).toBe(502);
    expect(JSON.parse(reply?.body.toString() ?? '{}').error.message).toBe(`llm-usage proxy: malformed response from ${up.url}/v1 (Response does not match the HTTP/1.1 protocol (Expected HTTP/, RTSP/ or ICE/))`);
    const [rec] = await settled(1);
    expect(rec).toMatchObject({ ok: false, error_kind: 'connection', usage_source: 'none' });
    expect(rec?.error).toContain('malformed response from');
  });

  it('hands the client only the final response, never an upstream\'s 103 Early Hints; an unasked-for 100 is a malformed response', async () => {
    const json = chatReply('gpt-4o-mini', 8, 8);
    const final = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
    const interim = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\n';
    const up = await rawUpstream((socket, _request, index) => {
      if (index === 0) {
        // Each its own packet, the final response last.
        socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
        setTimeout(() => socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\n'), 10);
        setTimeout(() => socket.write(final), 20);
      } else if (index === 1) socket.write(interim + final); // all in one
      // undici (rightly, since nothing asked for it) takes a 100 Continue to a request that sent no Expect as a broken response.
      else socket.write('HTTP/1.1 100 Continue\r\n\r\n' + final);
    });
    const port = await start({ openai: `${up.url}/v1` });
    const wire = await Wire.open(port);
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }));
    await wire.answers(1);
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }));
    const replies = await wire.answers(2);
    await sleep(20);
    expect(wire.replies().map((r) => r.status)).toEqual([200, 200]);
    for (const r of replies) {
      expect(r.body.toString()).toBe(json);
      expect(r.headers.link).toBeUndefined();
    }
    expect(wire.data.toString('latin1')).not.toMatch(/ 10[03] /);
    expect(up.connections).toBe(1);
    expect((await settled(2)).map((r) => [r.ok, r.usage.input_tokens])).toEqual([
      [true, 8],
      [true, 8],
    ]);
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }));
    const [, , third] = await wire.answers(3);
    expect(third?.status).toBe(502);
    expect(JSON.parse(third?.body.toString() ?? '{}').error.message).toBe(`llm-usage proxy: malformed response from ${up.url}/v1 (bad response)`);
  });

  it('connection: close from the client: the response says so and the connection then closes', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
      res.end('{"data":[]}');
    };
    const port = await start();
    const wire = await Wire.open(port);
    wire.write('GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await wire.closedByPeer();
    const replies = wire.replies();
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ status: 200, headers: { connection: 'close' } });
    expect(replies[0]?.body.toString()).toBe('{"data":[]}');
    expect(seen.map((s) => s.url)).toEqual(['/v1/models']);

    // The same for a metered call whose body the proxy re-frames.
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(chatReply('gpt-4o', 3, 3));
    };
    const metered = await Wire.open(port);
    metered.write(post('/v1/chat/completions', { model: 'gpt-4o', messages: [] }, ['Connection: close']));
    await metered.closedByPeer();
    expect(metered.replies().map((r) => [r.status, r.headers.connection, r.body.toString()])).toEqual([[200, 'close', chatReply('gpt-4o', 3, 3)]]);
    expect((await settled(1))[0]).toMatchObject({ ok: true, usage: { input_tokens: 3, output_tokens: 3 } });
  });

  it('a slow-reading client still gets every byte of a large streamed body, in order', async () => {
    const content = patterned(8 * 1024 * 1024);
    let upstreamDone = false;
    script = async (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let at = 0; at < content.length; at += 64 * 1024) {
        if (!res.write(content.subarray(at, at + 64 * 1024))) await once(res, 'drain');
      }
      res.end();
      upstreamDone = true;
    };
    const port = await start();
    const wire = await Wire.open(port);
    let receivedBeforePause = -1;
    wire.socket.once('data', () => {
      receivedBeforePause = wire.data.length;
      wire.socket.pause();
      setTimeout(() => wire.socket.resume(), 300);
    });
    wire.write('GET /v1/files/file-big/content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await wire.until(() => wire.closed, 'the whole body', 5000);
    const replies = wire.replies();
    expect(replies).toHaveLength(1);
    expect(replies[0]?.framing).toBe('chunked');
    expect(replies[0]?.body.length).toBe(content.length);
    expect(replies[0]?.body.equals(content)).toBe(true);
    expect(upstreamDone).toBe(true);
    // The pause came while the body was still on its way.
    expect(receivedBeforePause).toBeGreaterThan(0);
    expect(receivedBeforePause).toBeLessThan(content.length / 2);
  });

  it('an HTTP/1.0 keep-alive request for a streamed body still gets it delimited by the close', async () => {
    const content = patterned(50_000);
    script = async (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'yes' });
      res.write(content.subarray(0, 7));
      await sleep(5);
      res.end(content.subarray(7));
    };
    const port = await start();
    const wire = await Wire.open(port);
    wire.write('GET /v1/files/file-abc/content HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await wire.closedByPeer();
    const replies = wire.replies();
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ status: 200, framing: 'close', headers: { connection: 'close', 'x-upstream': 'yes' } });
    expect(replies[0]?.body.equals(content)).toBe(true);
  });

  it('an HTTP/1.0 keep-alive client the proxy answers itself (404) is answered in order and kept alive', async () => {
    const port = await start();
    const wire = await Wire.open(port);
    wire.write('GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /nope/again HTTP/1.0\r\n\r\n');
    const replies = await wire.answers(2);
    expect(replies.map((r) => [r.status, r.headers.connection])).toEqual([
      [404, 'keep-alive'],
      [404, 'close'],
    ]);
    expect(JSON.parse(replies[1]?.body.toString() ?? '{}').error.message).toMatch(/^llm-usage proxy: no route for GET \/nope\/again/);
    await wire.closedByPeer(500);
    expect(seen).toHaveLength(0);
    expect(proxy?.stats()).toMatchObject({ requests: 2, refused: { 'no-route': 2 } });
  });

  // Bug: a pass-through request whose response ends before its body has all arrived stops
  // forwarding the body (passThrough's body(): `if (done) return`, end(): `!done`), yet the
  // upstream connection is kept for the next request (UpstreamConnection.onEnd reuses it). The
  // upstream still waits for the rest of the body and takes the next request's bytes for it.
  it('an upstream that answers an upload before its body has all arrived leaves the next request on the connection unharmed', async () => {
    early = (req, res) => {
      if (req.url !== '/v1/files') return false;
      res.writeHead(401, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
      return true;
    };
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
      res.end('{"data":[]}');
    };
    const port = await start();
    const wire = await Wire.open(port);
    const upload = 'x'.repeat(1000);
    wire.write(`POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${upload.length}\r\n\r\n${upload.slice(0, 100)}`);
    const [refused] = await wire.answers(1);
    expect(refused?.status).toBe(401);
    // The rest of the upload, then the next request on the same connection.
    wire.write(`${upload.slice(100)}GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n`);
    const replies = await wire.answers(2, [], 600);
    expect(replies[1]?.status).toBe(200);
    expect(replies[1]?.body.toString()).toBe('{"data":[]}');
  });

  // -------------------------------------------------------------------------------------------
  // Regression tests for the holes the hand-written HTTP/1.1 had, each by its bytes.

  it('Connection: content-length never unframes a body: the smuggled request inside it is body, sent once, answered once', async () => {
    script = (req, body, res) => {
      const json = req.url?.startsWith('/v1/chat') ? chatReply('gpt-4-turbo', 10, 10) : JSON.stringify({ id: 'file-1', bytes: body.length });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    const port = await start();
    const inner = post('/v1/chat/completions', { model: 'gpt-4-turbo', messages: [{ role: 'user', content: 'smuggled' }] });
    const attack = await Wire.open(port);
    attack.write(`POST /v1/files HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Type: application/octet-stream\r\nContent-Length: ${Buffer.byteLength(inner)}\r\n\r\n${inner}`);
    const [answer] = await attack.answers(1);
    expect(JSON.parse(answer?.body.toString() ?? '{}')).toEqual({ id: 'file-1', bytes: Buffer.byteLength(inner) });
    // Another client on another connection gets its own answer, and only that.
    const other = await Wire.open(port);
    other.write(post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'mine' }] }));
    const [own] = await other.answers(1);
    expect(JSON.parse(own?.body.toString() ?? '{}').id).toBe('chatcmpl-gpt-4-turbo');
    await sleep(50);
    expect(attack.replies()).toHaveLength(1);
    expect(other.replies()).toHaveLength(1);
    expect(seen.map((q) => [q.method, q.url])).toEqual([
      ['POST', '/v1/files'],
      ['POST', '/v1/chat/completions'],
    ]);
    expect(seen[0]?.body).toBe(inner);
    expect(seen[1]?.body).toContain('"mine"');
    const recs = await settled(1);
    expect(recs.map((r) => r.requested_model)).toEqual(['gpt-4o']);
    expect(proxy?.stats()).toMatchObject({ requests: 2, unmetered: 1 });
  });

  it('a body of 1-byte chunks: bounded memory, sent whole under the limit, 413 past it and never sent', { timeout: 60_000 }, async () => {
    script = (_req, _body, res) => {
      const json = chatReply('gpt-4o-mini', 5, 5);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    const port = await start({}, { limits: { maxBodyBytes: 256 * 1024 } });
    const chunked = (bytes: Buffer) => {
      const parts: string[] = [];
      for (const b of bytes) parts.push(`1\r\n${String.fromCharCode(b)}\r\n`);
      return parts.join('') + '0\r\n\r\n';
    };
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const fits = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] }));
    const wire = await Wire.open(port);
    wire.write(head + chunked(fits));
    const [ok] = await wire.answers(1, [], 20_000);
    expect(ok?.status).toBe(200);
    expect(seen[0]?.body).toBe(fits.toString());
    expect(seen[0]?.headers['content-length']).toBe(String(fits.length));

    // 1.5 million 1-byte chunks (9 MB on the wire) against a 256 KiB limit. The hand-written
    // parser kept an object per chunk: 741 MB for 30 MB on the wire. The heap's peak while they
    // arrive stays within what short-lived garbage explains.
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    const big = await Wire.open(port);
    big.write(head);
    const piece = '1\r\nx\r\n'.repeat(100_000);
    try {
      for (let i = 0; i < 15 && !big.closed; i++) {
        // The proxy answers and closes as soon as the limit is passed: the rest has nowhere to go.
        if (!big.socket.write(piece)) await Promise.race([once(big.socket, 'drain'), once(big.socket, 'close')]).catch(() => undefined);
      }
      const [tooLarge] = await big.answers(1, [], 20_000);
      expect(tooLarge?.status).toBe(413);
      expect(JSON.parse(tooLarge?.body.toString() ?? '{}').error).toMatchObject({ code: 'llm_usage_request_too_large', type: 'invalid_request_error' });
      expect(tooLarge?.headers.connection).toBe('close');
    } finally {
      clearInterval(sampler);
    }
    expect((peak - before) / 2 ** 20, 'MB of heap at the peak').toBeLessThan(100);
    expect(seen).toHaveLength(1);
    expect(proxy?.stats().refused).toEqual({ 'too-large': 1 });
    // A declared length past the limit is refused before a byte of it is read.
    const declared = await Wire.open(port);
    declared.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n{`);
    expect((await declared.answers(1))[0]?.status).toBe(413);
  });

  it('a slowloris client (a header byte at a time) is cut off at the headers timeout with 408', async () => {
    const port = await start({}, { limits: { headersTimeoutMs: 300 } });
    const wire = await Wire.open(port);
    const request = 'GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
    const started = Date.now();
    let i = 0;
    const drip = setInterval(() => {
      if (!wire.closed && i < request.length) wire.write(request[i++] as string);
    }, 50);
    try {
      await wire.closedByPeer(5000);
    } finally {
      clearInterval(drip);
    }
    expect(Date.now() - started).toBeLessThan(4000);
    expect(wire.replies().map((r) => r.status)).toEqual([408]);
    expect(seen).toHaveLength(0);
  });

  it('an upstream that never answers: 504 in the provider\'s format after the upstream headers timeout, a failed call', async () => {
    const up = await rawUpstream(() => undefined);
    const port = await start({ openai: `${up.url}/v1`, anthropic: up.url }, { limits: { upstreamHeadersTimeoutMs: 300 } });
    const wire = await Wire.open(port);
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }));
    const [openai] = await wire.answers(1, [], 5000);
    expect(openai?.status).toBe(504);
    expect(JSON.parse(openai?.body.toString() ?? '{}')).toEqual({
      error: { message: `llm-usage proxy: ${up.url}/v1 sent no response headers within 0.3 s (LLM_USAGE_PROXY_UPSTREAM_HEADERS_TIMEOUT)`, type: 'server_error', param: null, code: 'llm_usage_upstream_timeout' },
    });
    wire.write(post('/v1/messages', { model: 'claude-3-5-haiku-20241022', max_tokens: 5, messages: [] }, ['anthropic-version: 2023-06-01']));
    const [, anthropic] = await wire.answers(2, [], 5000);
    expect(JSON.parse(anthropic?.body.toString() ?? '{}')).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    const recs = await settled(2);
    expect(recs.map((r) => [r.ok, r.error_kind, r.usage_source])).toEqual([
      [false, 'connection', 'none'],
      [false, 'connection', 'none'],
    ]);
    expect(recs[0]?.error).toContain('sent no response headers within 0.3 s');
  });

  it('an upstream that sends its headers and then nothing: the client is cut at the body timeout, the call recorded as cut', async () => {
    const up = await rawUpstream((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'));
    const port = await start({ openai: `${up.url}/v1` }, { limits: { upstreamBodyTimeoutMs: 300 } });
    const wire = await Wire.open(port);
    wire.write(post('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    await wire.closedByPeer(5000);
    // Cut before a byte of the body: no head either, so the client cannot take it for an answer.
    expect(wire.replies()).toEqual([]);
    const [rec] = await settled(1);
    expect(rec).toMatchObject({ ok: false, error_kind: 'stream-cut', usage_source: 'estimated' });
    expect(rec?.error).toContain('no data from upstream for 0.3 s (LLM_USAGE_PROXY_UPSTREAM_BODY_TIMEOUT)');
  });

  it('every spelling of an API path is metered as that API; one that climbs out of /v1 is a 400 and never sent', async () => {
    script = (_req, _body, res) => {
      const json = chatReply('gpt-4o-mini', 2, 3);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    const port = await start({ openai: `${upstreamUrl}/team/v1` });
    const wire = await Wire.open(port);
    const spellings = ['/v1//chat/completions', '/v1/./chat/completions', '/v1/x/../chat/completions', '/v1/%2e/chat/completions'];
    for (const path of spellings) wire.write(post(path, { model: 'gpt-4o-mini', messages: [] }));
    const replies = await wire.answers(spellings.length);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(seen.map((q) => q.url)).toEqual(Array(4).fill('/team/v1/chat/completions'));
    expect((await settled(4)).map((r) => [r.api, r.usage.total_tokens])).toEqual(Array(4).fill(['chat', 5]));
    for (const path of ['/v1/../../admin', '/v1/../v1/chat/completions', '/v1/chat%2fcompletions']) {
      const bad = await Wire.open(port);
      bad.write(post(path, { model: 'gpt-4o-mini', messages: [] }));
      const [reply] = await bad.answers(1);
      expect({ path, status: reply?.status, code: JSON.parse(reply?.body.toString() ?? '{}').error?.code }).toEqual({ path, status: 400, code: 'llm_usage_bad_path' });
    }
    expect(seen).toHaveLength(4);
    expect(proxy?.stats().refused).toEqual({ 'bad-path': 3 });
  });

  it('the Vercel AI SDK\'s Anthropic base URL (/messages, no /v1) is metered, and reaches /v1/messages once', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(ANTHROPIC_SSE);
    };
    const port = await start({ anthropic: `${upstreamUrl}/v1` });
    const wire = await Wire.open(port);
    wire.write(post('/messages', { model: 'claude-3-5-haiku-20241022', max_tokens: 10, stream: true, messages: [] }, ['anthropic-version: 2023-06-01']));
    const [reply] = await wire.answers(1);
    expect(reply?.body.toString()).toBe(ANTHROPIC_SSE);
    expect(seen.map((q) => q.url)).toEqual(['/v1/messages']);
    expect((await settled(1))[0]).toMatchObject({ provider: 'anthropic', api: 'messages', ok: true, usage: { input_tokens: 12, output_tokens: 4 } });
  });

  it('with no Azure endpoint configured, an Azure OpenAI request is refused in OpenAI\'s format and its api-key goes nowhere', async () => {
    const port = await start();
    const key = 'azure0123456789abcdef0123456789ab';
    for (const [path, fields] of [
      ['/v1/chat/completions', [`api-key: ${key}`]],
      ['/v1/deployments/my-gpt4/chat/completions?api-version=2024-10-21', [`api-key: ${key}`]],
      ['/openai/deployments/my-gpt4/chat/completions?api-version=2024-10-21', [`Authorization: Bearer ${key}`]],
    ] as const) {
      const wire = await Wire.open(port);
      wire.write(post(path, { model: 'gpt-4o', messages: [] }, [...fields]));
      const [reply] = await wire.answers(1);
      expect(reply?.status).toBe(400);
      const error = JSON.parse(reply?.body.toString() ?? '{}').error;
      expect(error).toMatchObject({ type: 'invalid_request_error', code: 'llm_usage_azure_no_endpoint' });
      expect(error.message).toMatch(/^llm-usage proxy: this Azure OpenAI request was not sent anywhere: no Azure endpoint is configured \(set AZURE_OPENAI_ENDPOINT, or --azure-upstream URL\)$/);
      expect(reply?.body.toString()).not.toContain(key);
    }
    expect(seen).toHaveLength(0);
    expect(records).toHaveLength(0);
    expect(proxy?.stats().refused).toEqual({ azure: 3 });
  });

  it('an Azure request goes to the Azure upstream only, api-key untouched, and is metered by the deployment it names', async () => {
    const key = 'azure0123456789abcdef0123456789ab';
    // Azure's stream: a first chunk with no choices, model "" and prompt_filter_results, then OpenAI's chunks.
    const sse =
      'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n' +
      'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop","content_filter_results":{}}],"usage":null}\n\n' +
      'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":8}}}\n\n' +
      'data: [DONE]\n\n';
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(sse);
    };
    const port = await start({ openai: 'http://127.0.0.1:9/v1', anthropic: 'http://127.0.0.1:9', azure: `${upstreamUrl}/` });
    const wire = await Wire.open(port);
    const body = { messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } };
    wire.write(post('/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', body, [`api-key: ${key}`]));
    const [reply] = await wire.answers(1);
    // The program gets Azure's bytes as they came, the first chunk included.
    expect(reply?.body.toString()).toBe(sse);
    expect(seen.map((q) => [q.url, q.headers['api-key']])).toEqual([['/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', key]]);
    const [record] = await settled(1);
    expect(record).toMatchObject({
      provider: 'azure',
      api: 'chat',
      model: 'gpt-4o-2024-08-06',
      requested_model: 'my-gpt4o',
      usage: { input_tokens: 20, output_tokens: 5, input_token_details: { cache_read: 8 } },
      usage_source: 'reported',
      priced_as: 'openai/gpt-4o',
      priced_by: 'model',
    });
    // gpt-4o under azure (its fallback to openai's prices): 12 input at $2.50, 8 cached at $1.25, 5 output at $10 per 1M.
    expect(record?.cost_usd).toBeCloseTo((12 * 2.5 + 8 * 1.25 + 5 * 10) / 1e6, 15);
    expect(JSON.stringify(records)).not.toContain(key);
  });

  it('--max-cost holds under concurrency: 50 calls at once to a slow upstream never spend past it; every refusal is a 429', async () => {
    script = async (_req, _body, res) => {
      await sleep(5000);
      const json = chatReply('gpt-4o', 10, 100);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    const max = 0.01;
    const port = await start({}, { maxCostUsd: max });
    const wires = await Promise.all(Array.from({ length: 50 }, () => Wire.open(port)));
    // Each asks for at most 100 output tokens: a worst case of about $0.001, 9 of them fit.
    for (const wire of wires) wire.write(post('/v1/chat/completions', { model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }));
    const replies = (await Promise.all(wires.map((w) => w.answers(1, [], 15_000)))).map((r) => r[0]);
    const refused = replies.filter((r) => r?.status === 429);
    expect(replies.filter((r) => r?.status === 200)).toHaveLength(9);
    expect(refused).toHaveLength(41);
    for (const r of refused) {
      expect(r?.headers['x-should-retry']).toBe('false');
      expect(JSON.parse(r?.body.toString() ?? '{}').error).toMatchObject({ type: 'insufficient_quota', code: 'llm_usage_budget_exceeded' });
    }
    const recs = await settled(50);
    const spent = recs.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
    expect(spent).toBeLessThanOrEqual(max);
    expect(spent).toBeGreaterThan(0.009);
    expect(seen).toHaveLength(9);
    expect(proxy?.stats()).toMatchObject({ refused: { budget: 41 } });
  }, 20_000);

  it('an idle keep-alive connection is closed after the keep-alive timeout; a slow request body after the request timeout', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
      res.end('{"data":[]}');
    };
    const port = await start({}, { limits: { keepAliveTimeoutMs: 200, requestTimeoutMs: 600, headersTimeoutMs: 300 } });
    const idle = await Wire.open(port);
    idle.write('GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n');
    const [reply] = await idle.answers(1);
    const answered = Date.now();
    await idle.closedByPeer(3000);
    expect(Date.now() - answered).toBeGreaterThanOrEqual(150);

    // Headers in time, then a body a byte at a time that never ends.
    const slow = await Wire.open(port);
    slow.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{');
    const drip = setInterval(() => slow.closed || slow.write(' '), 50);
    try {
      await slow.closedByPeer(5000);
    } finally {
      clearInterval(drip);
    }
    expect(slow.replies().map((r) => r.status)).toEqual([408]);
    expect(seen).toHaveLength(1);
    expect(records).toHaveLength(0);
  });
});
