import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../support/cli.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';

const OPENAI_KEY = 'sk-proj-SECRETopenaiKEY0123456789';
const ANTHROPIC_KEY = 'sk-ant-SECRETanthropicKEY0123456789';
const PROMPT = 'a-distinctive-prompt-never-to-be-logged';

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  openai: string;
  anthropic: string;
  /** Waits until stderr matches, or fails after a few seconds. */
  waitForErr(pattern: RegExp): Promise<void>;
  /** Ctrl-C, then the exit code and all output. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }>;
}
const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(OPENAI|ANTHROPIC|AZURE|LLM_USAGE)_/.test(k)) env[k] = v;
  return { ...env, NO_COLOR: '1', COLUMNS: '200', LLM_USAGE_LEDGER: '/dev/null', OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url, OPENAI_API_KEY: OPENAI_KEY, ANTHROPIC_API_KEY: ANTHROPIC_KEY, ...extra };
}

/** Starts `llm-usage proxy ARGS` and resolves once it has printed its base URLs. */
function startProxy(args: string[] = [], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'proxy', '--port', '0', ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`proxy exited ${code}: ${stderr}`)));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const openai = /^OPENAI_BASE_URL=(\S+)$/m.exec(stdout)?.[1];
      const anthropic = /^ANTHROPIC_BASE_URL=(\S+)$/m.exec(stdout)?.[1];
      if (!openai || !anthropic) return;
      resolve({
        child,
        openai,
        anthropic,
        out: () => stdout,
        err: () => stderr,
        async waitForErr(pattern) {
          for (let i = 0; i < 300 && !pattern.test(stderr); i++) await new Promise((r) => setTimeout(r, 10));
          expect(stderr).toMatch(pattern);
        },
        async stop(signal = 'SIGINT') {
          child.kill(signal);
          const code = await exited;
          return { code, stdout, stderr };
        },
      });
    });
  });
}

async function chat(base: string, body: object = {}): Promise<Response> {
  return fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPENAI_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages: [{ role: 'user', content: PROMPT }], ...body }),
  });
}

async function anthropicStream(base: string): Promise<string> {
  const r = await fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': ANTHROPIC_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 50, stream: true, messages: [{ role: 'user', content: PROMPT }] }),
  });
  return r.text();
}

function expectNothingPrivate(text: string) {
  expect(text).not.toContain('SECRET');
  expect(text).not.toContain(PROMPT);
  // Nothing of the fake's reply either ("Why don't scientists trust atoms? ...").
  expect(text).not.toMatch(/scientists|atoms/);
}

describe('llm-usage proxy', () => {
  it('serves a compatible provider on its prefix (/mistral/v1) to --upstream, metered and priced under it; OpenRouter\'s reported cost in the call line', async () => {
    const p = await startProxy(['--upstream', `mistral=${fake.url}/compat/mistral/v1`, '--upstream', `openrouter=${fake.url}/compat/openrouter/api/v1`]);
    await p.waitForErr(/OpenAI-compatible providers/);
    expect(p.err()).toContain(`go to their public base URLs, but mistral to ${fake.url}/compat/mistral/v1, openrouter to ${fake.url}/compat/openrouter/api/v1\n`);
    fake.queue({ usage: { input: 2000, output: 1000 } }, { usage: { input: 1000, output: 100, cost: 0.0036 } });
    const reply = await (await chat(`${p.anthropic}/mistral/v1`, { model: 'mistral-small-latest', stream: true })).text();
    // Mistral's usage on its finish chunk, relayed as sent.
    expect(reply).toContain('"usage":{"prompt_tokens":2000');
    await p.waitForErr(/#1/);
    // 2,000 x $0.10 + 1,000 x $0.30 per 1M.
    expect(p.err()).toContain('llm-usage: #1 mistral mistral-small-latest chat stream: 2,000 + 1,000 = 3,000 tokens, $0.0005 (total $0.0005)\n');
    await (await chat(`${p.anthropic}/openrouter/v1`, { model: 'openai/gpt-4o' })).json();
    await p.waitForErr(/#2/);
    expect(p.err()).toContain('llm-usage: #2 openrouter openai/gpt-4o chat: 1,000 + 100 = 1,100 tokens, $0.0036 (total $0.0041)\n');
    expect(fake.requests.map((q) => q.path)).toEqual(['/compat/mistral/v1/chat/completions', '/compat/openrouter/api/v1/chat/completions']);
    // Mistral's streams carry usage unasked: the program's request went as it was sent.
    expect(fake.requests[0]?.body.stream_options).toBeUndefined();
    const r = await p.stop();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("openrouter openai/gpt-4o: openrouter reported $0.0036 for 1 call (usage.cost), which the total uses; pricing.json's openai/gpt-4o prices come to $0.0035\n");
    expectNothingPrivate(r.stdout + r.stderr);
  });

  it('prints the base URLs, one line per call, and the summary on Ctrl-C', async () => {
    const p = await startProxy();
    expect(p.openai).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(p.anthropic).toBe(p.openai.replace(/\/v1$/, ''));
    await p.waitForErr(/metering on/);
    expect(p.err()).toContain(`llm-usage proxy: metering on ${p.anthropic}; OpenAI calls go to ${fake.url}/v1, Anthropic calls to ${fake.url}`);

    fake.queue({ usage: { input: 11, output: 16 } }, { usage: { input: 30, output: 5 } });
    const reply = await (await chat(p.openai)).json();
    expect(reply.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 16 });
    await p.waitForErr(/#1/);
    expect(p.err()).toContain('llm-usage: #1 openai gpt-3.5-turbo-0125 chat: 11 + 16 = 27 tokens, $0.0000295 (total $0.0000295)\n');
    expect(await anthropicStream(p.anthropic)).toContain('event: message_stop');
    await p.waitForErr(/#2/);
    expect(p.err()).toMatch(/llm-usage: #2 anthropic claude-3-5-haiku-20241022 messages stream: 30 \+ 5 = 35 tokens, \$0\.000044 \(total \$0\.0000735\)\n/);

    const r = await p.stop();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/│ Tokens Used\s+│\s+62 │/);
    expect(r.stderr).toMatch(/│ Successful Requests\s+│\s+2 │/);
    expect(r.stdout).toBe(`OPENAI_BASE_URL=${p.openai}\nANTHROPIC_BASE_URL=${p.anthropic}\nAZURE_OPENAI_ENDPOINT=${p.anthropic}\nAWS_ENDPOINT_URL_BEDROCK_RUNTIME=${p.anthropic}\nANTHROPIC_BEDROCK_BASE_URL=${p.anthropic}\nGOOGLE_GEMINI_BASE_URL=${p.anthropic}\nGROQ_BASE_URL=${p.anthropic}/groq\nTOGETHER_BASE_URL=${p.anthropic}/together/v1\nCEREBRAS_BASE_URL=${p.anthropic}/cerebras\n`);
    // No Azure endpoint configured: said at the start, and Azure calls would be refused.
    expect(r.stderr).toContain('llm-usage proxy: Azure OpenAI calls are refused: no Azure endpoint is configured (AZURE_OPENAI_ENDPOINT or --azure-upstream)\n');
    expectNothingPrivate(r.stdout + r.stderr);
  });

  it('meters Azure OpenAI calls to the endpoint it prints, forwarding them to AZURE_OPENAI_ENDPOINT with their api-key', async () => {
    const azureKey = 'azure-SECRETazureKEY0123456789abcdef';
    const p = await startProxy([], { AZURE_OPENAI_ENDPOINT: fake.url, AZURE_OPENAI_API_KEY: azureKey });
    await p.waitForErr(/Azure OpenAI calls go to/);
    expect(p.err()).toContain(`llm-usage proxy: Azure OpenAI calls go to ${fake.url}\n`);
    const endpoint = /^AZURE_OPENAI_ENDPOINT=(\S+)$/m.exec(p.out())?.[1];
    expect(endpoint).toBe(p.anthropic);
    fake.queue({ usage: { input: 40, cached: 10, output: 6 } });
    const response = await fetch(`${endpoint}/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21`, {
      method: 'POST',
      headers: { 'api-key': azureKey, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: PROMPT }] }),
    });
    expect(response.status).toBe(200);
    expect((await response.json()).model).toBe('gpt-4o-2024-08-06');
    expect(fake.requests.map((q) => [q.url, q.headers['api-key']])).toEqual([['/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', azureKey]]);
    await p.waitForErr(/#1/);
    // 30 input at $2.50, 10 cached at $1.25, 6 output at $10 per 1M (gpt-4o, azure's fallback to openai's prices).
    expect(p.err()).toContain('llm-usage: #1 azure gpt-4o-2024-08-06 chat: 40 + 6 = 46 tokens, $0.0001475 (total $0.0001475)\n');
    const r = await p.stop();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("azure deployment my-gpt4o: priced as openai/gpt-4o (azure falls back to openai's prices), by the model its reply named (gpt-4o-2024-08-06)");
    expectNothingPrivate(r.stdout + r.stderr);
    expect(r.stdout + r.stderr).not.toContain(azureKey);
  });

  it('--quiet drops the per-call lines; --json and --report give the JSON summary; SIGTERM stops it too', async () => {
    const report = `${process.env.TMPDIR ?? '/tmp'}/llm-usage-proxy-report-${process.pid}.json`;
    const p = await startProxy(['--quiet', '--json', '--report', report]);
    await (await chat(p.openai)).json();
    await (await chat(p.openai, { stream: true })).text();
    const r = await p.stop('SIGTERM');
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/#1/);
    const j = JSON.parse(r.stderr.slice(r.stderr.indexOf('{')));
    expect(j).toMatchObject({ successful_requests: 2, total_tokens: 54, unmetered_requests: 0, refused_requests: 0 });
    const { readFileSync, rmSync } = await import('node:fs');
    expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual(j);
    rmSync(report);
    expectNothingPrivate(r.stderr);
  });

  it('listens on loopback only unless --host says otherwise', async () => {
    const p = await startProxy();
    const port = Number(new URL(p.anthropic).port);
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (outside) {
      const reached = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, outside, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      expect(reached, `the proxy answered on ${outside}`).toBe(false);
    }
    await p.stop();
    const wide = await startProxy(['--host', '0.0.0.0']);
    await wide.waitForErr(/Ctrl-C/);
    expect(wide.err()).toContain('llm-usage proxy: listening beyond loopback');
    // The base URLs it prints are ones a client can dial, not 0.0.0.0.
    expect(wide.openai).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect((await chat(wide.openai)).status).toBe(200);
    await wide.stop();
  });

  it('says when an https upstream is reached through HTTPS_PROXY, without its credentials; a proxy it cannot use is exit 2', async () => {
    const p = await startProxy(['--openai-upstream', 'https://api.openai.com/v1'], { HTTPS_PROXY: 'http://corp:SECRET@proxy.corp.example:3128', NO_PROXY: 'internal.example' });
    await p.waitForErr(/Ctrl-C/);
    expect(p.err()).toContain(`OpenAI calls go to https://api.openai.com/v1, Anthropic calls to ${fake.url}, Bedrock calls to `);
    expect(p.err()).toContain('llm-usage proxy: https upstreams are reached through http://proxy.corp.example:3128 (HTTPS_PROXY), unless NO_PROXY names them\n');
    const { stderr } = await p.stop();
    expectNothingPrivate(stderr);
    const bad = await runCli(['proxy', '--port', '0', '--openai-upstream', 'https://api.openai.com/v1'], { env: { HTTPS_PROXY: 'socks5://corp:SECRET@proxy.corp.example' } });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('llm-usage: HTTPS_PROXY: socks5:// proxies are not supported, only http:// and https:// (or unset it for llm-usage)\n');
  });

  it('forwards only to its upstreams, whatever the request says', async () => {
    const p = await startProxy();
    const port = Number(new URL(p.anthropic).port);
    const raw = (request: string) =>
      new Promise<string>((resolve) => {
        // Written, not ended: a half-closed request socket makes Node's server abort the request.
        const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
        let text = '';
        socket.on('data', (d) => (text += d));
        socket.on('close', () => resolve(text));
      });
    expect(await raw('GET http://example.com/v1/models HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 404[\s\S]*llm-usage proxy: no route/);
    expect(await raw('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 404/);
    expect(fake.requests).toHaveLength(0);
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [] });
    const viaOtherHost = await raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    expect(viaOtherHost).toMatch(/^HTTP\/1\.1 200/);
    expect(fake.requests[0]?.headers.host).toBe(new URL(fake.url).host);
    await p.stop();
  });

  it('a port in use, or an upstream that is the proxy itself, is one line and exit 2', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const busy = await runCli(['proxy', '--port', String(port)], { env: childEnv() });
    expect(busy.code).toBe(2);
    expect(busy.stderr).toBe(`llm-usage: port ${port} is in use on 127.0.0.1: pick another with --port (0 picks a free one)\n`);
    server.close();

    const loop = await runCli(['proxy', '--port', '4999'], { env: childEnv({ OPENAI_BASE_URL: 'http://localhost:4999/v1' }) });
    expect(loop.code).toBe(2);
    expect(loop.stderr).toBe('llm-usage: the openai upstream http://localhost:4999/v1 is this proxy itself: set --openai-upstream, or pick another --port\n');
    // Every alias of its own address counts.
    for (const [upstream, host] of [
      ['http://[::ffff:127.0.0.1]:4999/v1', '127.0.0.1'],
      ['http://127.0.0.2:4999/v1', '0.0.0.0'],
      ['http://[::1]:4999/v1', '::'],
    ]) {
      const alias = await runCli(['proxy', '--port', '4999', '--host', host as string, '--openai-upstream', upstream as string], { env: childEnv() });
      expect({ upstream, code: alias.code, stdout: alias.stdout, stderr: alias.stderr }).toEqual({ upstream, code: 2, stdout: '', stderr: expect.stringMatching(/is this proxy itself: set --openai-upstream, or pick another --port\n$/) });
    }

    const badPort = await runCli(['proxy', '--port', '70000'], { env: childEnv() });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/^llm-usage: .*expected a port number from 0 to 65535/);
  });
});
