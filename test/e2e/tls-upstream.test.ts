// The proxy's upstream over TLS, as every real provider is: `exec` forwards to an https
// upstream on loopback whose certificate (test/fixtures/tls, for localhost and 127.0.0.1, a
// test-only key) is trusted through NODE_EXTRA_CA_CERTS, as a corporate CA would be.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const CA = fixture('cert.pem');
const KEY = 'sk-proj-SECRETtlsKEY0123456789';

const USAGE = { prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 };
const chunkOf = (extra: object) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o-mini-2024-07-18', ...extra })}\n\n`;

interface Seen {
  servername: string | false;
  host: string | undefined;
  path: string | undefined;
  authorization: string | undefined;
  body: Record<string, unknown>;
}
const seen: Seen[] = [];
let server: https.Server;
let port: number;

beforeAll(async () => {
  server = https.createServer({ key: readFileSync(fixture('key.pem')), cert: readFileSync(CA) }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      seen.push({ servername: (req.socket as TLSSocket).servername, host: req.headers.host, path: req.url, authorization: req.headers.authorization, body });
      if (body['stream'] !== true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c0', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: USAGE }));
        return;
      }
      const withUsage = (body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;
      const u = withUsage ? { usage: null } : {};
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunkOf({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Why' }, finish_reason: null }], ...u }));
      res.write(chunkOf({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...u }));
      if (withUsage) res.write(chunkOf({ choices: [], usage: USAGE }));
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

// The wrapped program: a chat call and a chat stream (without asking for usage), with fetch;
// prints what it received so the test can compare it with what the upstream sent.
const PROGRAM = `
const base = process.env.OPENAI_BASE_URL;
const headers = { authorization: 'Bearer ' + process.env.OPENAI_API_KEY, 'content-type': 'application/json' };
const messages = [{ role: 'user', content: 'Tell me a joke' }];
const out = [];
for (const stream of [false, true]) {
  const r = await fetch(base + '/chat/completions', { method: 'POST', headers, body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream }) });
  out.push({ status: r.status, body: await r.text() });
}
console.log(JSON.stringify(out));
`;

function exec(upstream: string, extraEnv: Record<string, string | undefined>) {
  return runCli(['exec', '--json', '--openai-upstream', upstream, '--', process.execPath, '--input-type=module', '-e', PROGRAM], {
    // No proxy of the machine's: each test says which it uses.
    env: { OPENAI_API_KEY: KEY, HTTPS_PROXY: undefined, https_proxy: undefined, HTTP_PROXY: undefined, http_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined, ...extraEnv },
    timeoutMs: 30_000,
  });
}

/**
 * A corporate-style HTTP proxy on loopback: answers CONNECT with `status` (200 opens a tunnel
 * to the named host and port), and notes each CONNECT line and its Proxy-Authorization.
 */
async function connectProxy(status = 200, secure = false): Promise<{ url: string; connects: string[]; auth: (string | undefined)[]; close(): Promise<void> }> {
  const connects: string[] = [];
  const auth: (string | undefined)[] = [];
  const sockets = new Set<net.Socket>();
  const onClient = (client: net.Socket) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.off('data', onData);
      const lines = head.slice(0, end).split('\r\n');
      connects.push(lines[0] ?? '');
      auth.push(lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]*:\s*/, ''));
      const target = /^CONNECT ([^ ]+):(\d+) HTTP\/1\.1$/.exec(lines[0] ?? '');
      if (status !== 200 || !target) {
        client.end(`HTTP/1.1 ${status} Nope\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const upstream = net.connect(Number(target[2]), '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
    };
    client.on('data', onData);
  };
  // An https:// proxy: the client speaks TLS to the proxy, then TLS again through the tunnel.
  const server = secure ? tls.createServer({ key: readFileSync(fixture('key.pem')), cert: readFileSync(CA) }, onClient) : net.createServer(onClient);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${secure ? 'https://localhost' : 'http://127.0.0.1'}:${(server.address() as AddressInfo).port}`,
    connects,
    auth,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

it('forwards to an https upstream by name, with SNI and Host for that name, and meters both calls', async () => {
  seen.length = 0;
  const r = await exec(`https://localhost:${port}/v1`, { NODE_EXTRA_CA_CERTS: CA });
  expect(r.code, r.stderr).toBe(0);
  const got = JSON.parse(r.stdout) as { status: number; body: string }[];
  expect(got.map((g) => g.status)).toEqual([200, 200]);
  // The stream arrives as it would have without the proxy: no usage chunk, no "usage":null.
  expect(got[1]?.body).toBe(
    chunkOf({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Why' }, finish_reason: null }] }) + chunkOf({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + 'data: [DONE]\n\n',
  );
  expect(seen.map((s) => [s.servername, s.host, s.path])).toEqual([
    ['localhost', `localhost:${port}`, '/v1/chat/completions'],
    ['localhost', `localhost:${port}`, '/v1/chat/completions'],
  ]);
  expect(seen.every((s) => s.authorization === `Bearer ${KEY}`)).toBe(true);
  expect(seen[1]?.body['stream_options']).toEqual({ include_usage: true });
  const summary = JSON.parse(r.stderr.slice(r.stderr.indexOf('{')));
  expect(summary).toMatchObject({ successful_requests: 2, failed_requests: 0, total_tokens: 54 });
  expect(summary.calls.map((c: { usage_source: string }) => c.usage_source)).toEqual(['reported', 'reported']);
  expect(r.stdout + r.stderr).not.toContain(KEY);
});

it('an upstream whose certificate is not trusted is a 502 to the program and a failed call naming why', async () => {
  seen.length = 0;
  const r = await exec(`https://127.0.0.1:${port}/v1`, { NODE_EXTRA_CA_CERTS: undefined });
  expect(r.code, r.stderr).toBe(0);
  const got = JSON.parse(r.stdout) as { status: number; body: string }[];
  expect(got.map((g) => g.status)).toEqual([502, 502]);
  expect(JSON.parse(got[0]?.body ?? '{}').error.message).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+\/v1 \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/);
  expect(seen).toEqual([]);
  const summary = JSON.parse(r.stderr.slice(r.stderr.indexOf('{')));
  expect(summary).toMatchObject({ successful_requests: 0, failed_requests: 2 });
});

it('goes through HTTPS_PROXY with a CONNECT tunnel and its credentials, never printing them', async () => {
  seen.length = 0;
  const proxy = await connectProxy();
  try {
    const withAuth = proxy.url.replace('http://', 'http://corp-user:p%40ss-SECRET@');
    const r = await exec(`https://localhost:${port}/v1`, { NODE_EXTRA_CA_CERTS: CA, HTTPS_PROXY: withAuth });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { status: number }[]).map((g) => g.status)).toEqual([200, 200]);
    // One tunnel: the second call reuses the connection the first opened.
    expect(proxy.connects).toEqual([`CONNECT localhost:${port} HTTP/1.1`]);
    expect(proxy.auth).toEqual([`Basic ${Buffer.from('corp-user:p@ss-SECRET').toString('base64')}`]);
    // TLS runs end to end through the tunnel: the upstream sees its own name.
    expect(seen.map((s) => [s.servername, s.host])).toEqual([
      ['localhost', `localhost:${port}`],
      ['localhost', `localhost:${port}`],
    ]);
    expect(JSON.parse(r.stderr.slice(r.stderr.indexOf('{')))).toMatchObject({ successful_requests: 2, total_tokens: 54 });
    expect(r.stdout + r.stderr).not.toContain('SECRET');
  } finally {
    await proxy.close();
  }
});

it('NO_PROXY keeps a named upstream direct; a proxy that refuses the tunnel is a 502 naming it', async () => {
  const proxy = await connectProxy(407);
  try {
    seen.length = 0;
    const direct = await exec(`https://localhost:${port}/v1`, { NODE_EXTRA_CA_CERTS: CA, HTTPS_PROXY: proxy.url, NO_PROXY: 'example.com, localhost' });
    expect(direct.code, direct.stderr).toBe(0);
    expect((JSON.parse(direct.stdout) as { status: number }[]).map((g) => g.status)).toEqual([200, 200]);
    expect(proxy.connects).toEqual([]);
    expect(seen).toHaveLength(2);

    seen.length = 0;
    const refused = await exec(`https://localhost:${port}/v1`, { NODE_EXTRA_CA_CERTS: CA, https_proxy: proxy.url });
    const got = JSON.parse(refused.stdout) as { status: number; body: string }[];
    expect(got.map((g) => g.status)).toEqual([502, 502]);
    expect(JSON.parse(got[0]?.body ?? '{}').error.message).toBe(`llm-usage proxy: cannot reach https://localhost:${port}/v1 through the proxy ${proxy.url} (the proxy answered 407)`);
    expect(seen).toEqual([]);
    expect(JSON.parse(refused.stderr.slice(refused.stderr.indexOf('{')))).toMatchObject({ successful_requests: 0, failed_requests: 2 });
  } finally {
    await proxy.close();
  }
});

it('goes through an https:// proxy too (TLS to the proxy, then TLS to the upstream through it)', async () => {
  seen.length = 0;
  const proxy = await connectProxy(200, true);
  try {
    const r = await exec(`https://localhost:${port}/v1`, { NODE_EXTRA_CA_CERTS: CA, HTTPS_PROXY: proxy.url.replace('https://', 'https://u:TLS-SECRET@') });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { status: number }[]).map((g) => g.status)).toEqual([200, 200]);
    expect(proxy.connects).toEqual([`CONNECT localhost:${port} HTTP/1.1`]);
    expect(seen.map((s) => s.servername)).toEqual(['localhost', 'localhost']);
    expect(JSON.parse(r.stderr.slice(r.stderr.indexOf('{')))).toMatchObject({ successful_requests: 2, total_tokens: 54 });
    expect(r.stdout + r.stderr).not.toContain('TLS-SECRET');
  } finally {
    await proxy.close();
  }
});

it('reaches an http:// upstream through HTTP_PROXY, unless NO_PROXY names it', async () => {
  // A plain-HTTP upstream for this one: the same replies as the TLS one, without TLS.
  const plain = http.createServer((req, res) => server.emit('request', req, res));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const plainPort = (plain.address() as AddressInfo).port;
  const proxy = await connectProxy();
  try {
    seen.length = 0;
    const r = await exec(`http://127.0.0.1:${plainPort}/v1`, { HTTP_PROXY: proxy.url });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { status: number }[]).map((g) => g.status)).toEqual([200, 200]);
    expect(proxy.connects).toEqual([`CONNECT 127.0.0.1:${plainPort} HTTP/1.1`]);
    expect(seen).toHaveLength(2);
    const direct = await exec(`http://127.0.0.1:${plainPort}/v1`, { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    expect((JSON.parse(direct.stdout) as { status: number }[]).map((g) => g.status)).toEqual([200, 200]);
    expect(proxy.connects).toHaveLength(1);
  } finally {
    await proxy.close();
    plain.closeAllConnections();
    await new Promise<void>((resolve) => plain.close(() => resolve()));
  }
});
