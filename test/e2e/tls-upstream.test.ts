// The proxy's upstream over TLS, as every real provider is: `exec` forwards to an https
// upstream on loopback whose certificate (test/fixtures/tls, for localhost and 127.0.0.1, a
// test-only key) is trusted through NODE_EXTRA_CA_CERTS, as a corporate CA would be.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
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
    env: { OPENAI_API_KEY: KEY, ...extraEnv },
    timeoutMs: 30_000,
  });
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
