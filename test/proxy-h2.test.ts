// HTTP/2 cleartext (prior knowledge) and HTTP/1.1 on the proxy's one port (src/proxy/h2.ts):
// the AWS SDK v3 talks HTTP/2 to an http:// endpoint, everything else HTTP/1.1.
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { limitsOf } from '../src/proxy/limits.js';
import { startProxy, type MeteringProxy } from '../src/proxy/server.js';
import { loadPriceTable } from '../src/pricing/table.js';
import type { CallRecord } from '../src/record.js';

const STREAM = [
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] })}\n\n`,
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } })}\n\n`,
  'data: [DONE]\n\n',
].join('');

let upstream: http.Server;
let upstreamUrl: string;
const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
let proxy: MeteringProxy | undefined;
let records: CallRecord[] = [];
const warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);

beforeAll(async () => {
  process.on('warning', onWarning);
  upstream = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/v1/models') {
        res.writeHead(200, 'Fine Thanks', { 'content-type': 'application/json' }).end('{"data":[]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
      res.end(STREAM);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => {
  process.off('warning', onWarning);
  upstream.closeAllConnections();
  return new Promise<void>((resolve) => upstream.close(() => resolve()));
});
afterEach(async () => {
  await proxy?.close(100);
  proxy = undefined;
  records = [];
  seen.length = 0;
});

async function start(): Promise<MeteringProxy> {
  proxy = await startProxy({
    host: '127.0.0.1',
    port: 0,
    upstreams: { openai: new URL(`${upstreamUrl}/v1`), anthropic: new URL(upstreamUrl) },
    table: loadPriceTable(),
    limits: limitsOf({}),
    onRecord: (r) => records.push(r),
  });
  return proxy;
}

/** One HTTP/2 request on `session`: status, headers, body. */
function h2(session: http2.ClientHttp2Session, path: string, body?: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':path': path, 'content-type': 'application/json', authorization: 'Bearer sk-proj-h2h2h2h2h2h2' });
    let headers: http2.IncomingHttpHeaders = {};
    let text = '';
    stream.on('response', (h) => (headers = h));
    stream.setEncoding('utf8').on('data', (c: string) => (text += c));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

describe('h2c beside HTTP/1.1', () => {
  it('serves HTTP/2 with prior knowledge: metered, relayed byte for byte, several streams on one connection', async () => {
    const p = await start();
    const session = http2.connect(p.origin);
    const request = JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    const [a, b, models] = await Promise.all([h2(session, '/v1/chat/completions', request), h2(session, '/v1/chat/completions', request), h2(session, '/v1/models')]);
    session.close();
    for (const r of [a, b]) {
      expect(r.status).toBe(200);
      expect(r.body).toBe(STREAM);
      expect(r.headers['content-type']).toBe('text/event-stream');
    }
    expect(models).toMatchObject({ status: 200, body: '{"data":[]}' });
    // The upstream got HTTP/1.1 without HTTP/2's pseudo-headers; the key went through untouched.
    expect(seen.every((s) => Object.keys(s.headers).every((k) => !k.startsWith(':')))).toBe(true);
    expect(seen[0]?.headers.authorization).toBe('Bearer sk-proj-h2h2h2h2h2h2');
    expect(seen.map((s) => s.body).filter(Boolean)).toEqual([request, request]);
    for (let i = 0; i < 100 && records.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(records.map((r) => [r.api, r.stream, r.ok, r.usage.input_tokens, r.usage.output_tokens])).toEqual([
      ['chat', true, true, 9, 2],
      ['chat', true, true, 9, 2],
    ]);
    expect(p.stats()).toMatchObject({ requests: 3, unmetered: 1 });
    // A status message (HTTP/2 has none) is dropped, not warned about on stderr.
    expect(warnings).toEqual([]);
  });

  it('takes a large request body over HTTP/2, with its flow control, whole', async () => {
    const p = await start();
    const session = http2.connect(p.origin);
    const request = JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'word '.repeat(600_000) }] });
    const r = await h2(session, '/v1/chat/completions', request);
    session.close();
    expect(r.status).toBe(200);
    expect(seen[0]?.body.length).toBe(request.length);
    expect(seen[0]?.body === request).toBe(true);
  });

  it('still serves HTTP/1.1, whose first bytes may arrive one at a time and look like the preface at first', async () => {
    const p = await start();
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [] });
    const raw = `PRI /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(p.port, '127.0.0.1');
      let got = '';
      socket.setEncoding('utf8').on('data', (d: string) => (got += d));
      socket.on('close', () => resolve(got));
      let i = 0;
      const next = () => {
        if (i < raw.length) {
          socket.write(raw[i++] as string);
          setTimeout(next, 2);
        }
      };
      next();
    });
    // Not HTTP/2 (the preface says `PRI * HTTP/2.0`): node:http answered it, as it answers PRI.
    expect(reply).toMatch(/^HTTP\/1\.1 \d{3} /);
    const ok = await fetch(`${p.origin}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe(STREAM);
  });

  it('closes idle HTTP/2 sessions when it stops, and drops a connection that never says which protocol', async () => {
    const p = await start();
    const session = http2.connect(p.origin);
    await h2(session, '/v1/models');
    const closed = new Promise<void>((resolve) => session.on('close', () => resolve()));
    const silent = net.connect(p.port, '127.0.0.1');
    await new Promise<void>((resolve) => silent.on('connect', () => resolve()));
    const silentClosed = new Promise<void>((resolve) => silent.on('close', () => resolve()));
    const t = performance.now();
    await p.close(5000);
    proxy = undefined;
    await Promise.all([closed, silentClosed]);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});
