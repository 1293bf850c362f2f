// Azure OpenAI end to end: `run` and `stream` through the AzureOpenAI client, and the real
// AzureOpenAI client run under `exec`, all against the fake's Azure half (test/support/fake-azure.mjs).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliResult, summaryRow as row } from '../support/cli.js';
import { DEFAULT_TEXT, startFakeProvider, type FakeProvider, type FakeReply } from '../support/fake-provider.mjs';
import { startTap } from '../support/tap.js';

// Distinctive secrets: no output, error, ledger line or report may ever show them.
const AZURE_KEY = 'azure-SECRETazureKEY0123456789abcdef';
const AD_TOKEN = 'eyJ0eXAiOiJKV1Qi.SECRETentraTOKEN.0123456789';
const OPENAI_KEY = 'sk-proj-SECRETopenaiKEY0123456789';

const AZURE_CLIENT = fileURLToPath(new URL('../support/clients/azure-client.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-usage-azure-'));
let files = 0;
const tmp = (name: string) => join(dir, `${++files}-${name}`);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider({ azureKeys: { apiKey: AZURE_KEY, adToken: AD_TOKEN } });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

/**
 * The environment of a user of Azure OpenAI. OPENAI_BASE_URL points at a closed port: anything
 * sent there (rather than to Azure) fails.
 */
function azureEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { AZURE_OPENAI_ENDPOINT: fake.url, AZURE_OPENAI_API_KEY: AZURE_KEY, OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', ...extra };
}

function cli(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: azureEnv(extra), timeoutMs: 30_000 });
}

function expectNoSecrets(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(AZURE_KEY);
    expect(text).not.toContain(AD_TOKEN);
    expect(text).not.toContain('SECRET');
  }
}


describe('llm-usage run --provider azure', () => {
  it('calls the deployment with api-key and api-version, prices by the reply\'s model under azure, and says so', async () => {
    fake.queue({ usage: { input: 11, output: 16 } });
    const r = await cli(['run', '--provider', 'azure', '-m', 'my-gpt4o', 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n`);
    expect(row(r.stderr, 'Tokens Used')).toEqual({ value: '27', source: 'reported' });
    expect(row(r.stderr, 'Prompt Tokens')).toEqual({ value: '11', source: 'reported' });
    expect(row(r.stderr, 'Completion Tokens')).toEqual({ value: '16', source: 'reported' });
    // gpt-4o-2024-08-06 is gpt-4o, which azure prices at openai's rates: 11 x $2.50 + 16 x $10 per 1M.
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.0001875', source: 'pricing.json: openai/gpt-4o' });
    expect(r.stderr).toContain("azure deployment my-gpt4o: priced as openai/gpt-4o (azure falls back to openai's prices), by the model its reply named (gpt-4o-2024-08-06)\n");
    const [req] = fake.requests;
    expect(req?.url).toBe('/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21');
    expect(req?.headers['api-key']).toBe(AZURE_KEY);
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.body.messages).toEqual([{ role: 'user', content: 'Tell me a joke' }]);
    expectNoSecrets(r.stdout, r.stderr);
  });

  it('--json and the ledger name the deployment, the reply\'s model, and which of them priced the call', async () => {
    const ledger = tmp('ledger.jsonl');
    fake.queue({ usage: { input: 11, output: 16 } });
    const r = await cli(['run', '-m', 'azure/my-gpt4o', '--json', '--ledger', ledger, 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ provider: 'azure', api: 'chat', model: 'gpt-4o-2024-08-06', requested_model: 'my-gpt4o', priced_as: 'openai/gpt-4o', priced_by: 'model', usage_source: 'reported', cost_usd: 0.0001875 });
    const line = JSON.parse(readFileSync(ledger, 'utf8'));
    expect(line).toMatchObject({ command: 'run', provider: 'azure', model: 'gpt-4o-2024-08-06', priced_as: 'openai/gpt-4o', priced_by: 'model', cost_usd: 0.0001875 });
    expectNoSecrets(r.stdout, r.stderr, readFileSync(ledger, 'utf8'));
  });

  it('cached prompt tokens and reasoning tokens, inside their totals, at azure\'s o1 prices', async () => {
    fake.queue({ model: 'o1-2024-12-17', usage: { input: 2000, cached: 1500, output: 600, reasoning: 500 } });
    const r = await cli(['run', '-m', 'azure/reasoner', 'Plan a trip']);
    expect(r.code, r.stderr).toBe(0);
    expect(row(r.stderr, 'Cached (read)')).toEqual({ value: '1,500', source: 'reported, included above' });
    expect(row(r.stderr, 'Reasoning')).toEqual({ value: '500', source: 'reported, included above' });
    // azure/o1: $15 input, $7.50 cached, $60 output per 1M: 500 x 15 + 1500 x 7.5 + 600 x 60.
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.05475', source: 'pricing.json: azure/o1' });
  });

  it('a reply naming no model azure prices: the deployment\'s name, if that is one; else unpriced, never $0', async () => {
    fake.queue({ model: 'ft-house-model-v7' });
    const byName = await cli(['run', '-m', 'azure/gpt-4o', 'hi']);
    expect(byName.code, byName.stderr).toBe(0);
    expect(row(byName.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.0001875', source: 'pricing.json: openai/gpt-4o' });
    expect(byName.stderr).toContain("by the deployment's name (its reply named ft-house-model-v7, which has no azure price)");

    fake.queue({ model: 'ft-house-model-v7' });
    const none = await cli(['run', '-m', 'azure/prod-chat', '--json', 'hi']);
    expect(none.code, none.stderr).toBe(0);
    const j = JSON.parse(none.stdout);
    expect(j).toMatchObject({ total_cost_usd: null, cost_complete: false });
    expect(j.calls[0]).toMatchObject({ cost_usd: null, priced_as: null, cost_note: 'no azure price for deployment "prod-chat" (its reply named "ft-house-model-v7"; add the model with --pricing FILE)' });
    const table = await cli(['run', '-m', 'azure/prod-chat', 'hi']);
    expect(table.code).toBe(0);
    // The fake's default reply names gpt-4o-2024-08-06: priced, by the model.
    expect(row(table.stderr, 'Total Cost (USD)')?.value).toBe('$0.0001875');
  });

  it('legacy completions: the deployment\'s /completions; a model pricing.json lacks (gpt-35-turbo-instruct) is unknown, not $0', async () => {
    fake.queue({ usage: { input: 4, output: 9 } });
    const r = await cli(['run', '-m', 'azure/my-instruct', '--api', 'completions', 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.url).toBe('/openai/deployments/my-instruct/completions?api-version=2024-10-21');
    expect(row(r.stderr, 'Tokens Used')).toEqual({ value: '13', source: 'reported' });
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: 'unknown', source: 'incomplete: see below' });
    expect(r.stderr).toContain('cost unknown: no azure price for deployment "my-instruct" (its reply named "gpt-35-turbo-instruct"');
  });

  it('an Entra ID token goes as a bearer, not as api-key; OPENAI_API_VERSION and --base-url are used', async () => {
    const r = await cli(['run', '-m', 'azure/my-gpt4o', '--base-url', `${fake.url}/openai`, 'hi'], {
      AZURE_OPENAI_API_KEY: undefined,
      AZURE_OPENAI_AD_TOKEN: AD_TOKEN,
      AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9',
      OPENAI_API_VERSION: '2025-04-01-preview',
    });
    expect(r.code, r.stderr).toBe(0);
    const [req] = fake.requests;
    expect(req?.url).toBe('/openai/deployments/my-gpt4o/chat/completions?api-version=2025-04-01-preview');
    expect(req?.headers.authorization).toBe(`Bearer ${AD_TOKEN}`);
    expect(req?.headers['api-key']).toBeUndefined();
    expectNoSecrets(r.stdout, r.stderr);
  });

  it('bad input is one line on stderr, exit 2, nothing on stdout and nothing sent', async () => {
    for (const [args, env, message] of [
      [['run', '-m', 'azure/d', 'hi'], { AZURE_OPENAI_ENDPOINT: undefined }, 'llm-usage: no Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT (https://RESOURCE.openai.azure.com), or give --base-url\n'],
      [['run', '--provider', 'azure', '-m', 'd', 'hi'], { AZURE_OPENAI_API_KEY: undefined }, 'llm-usage: no Azure OpenAI key: set AZURE_OPENAI_API_KEY, or AZURE_OPENAI_AD_TOKEN for a Microsoft Entra ID token\n'],
      [['stream', '-m', 'azure/d'], { OPENAI_API_VERSION: 'latest-and-greatest' }, 'llm-usage: OPENAI_API_VERSION "latest-and-greatest" is not an API version: give one such as 2024-10-21, or unset it\n'],
      [['run', '-m', 'azure/d', '--base-url', 'azure', 'hi'], {}, 'llm-usage: --base-url "azure" is not a URL: give one such as https://RESOURCE.openai.azure.com\n'],
    ] as const) {
      const r = await cli([...args], env);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 2, stdout: '', stderr: message });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('--max-cost and --dry-run bound a deployment only by its name, the one name known before the reply', async () => {
    const unnamed = await cli(['run', '-m', 'azure/my-gpt4o', '--max-tokens', '100', '--max-cost', '1', 'hi']);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stdout).toBe('');
    expect(unnamed.stderr).toMatch(/^llm-usage: --max-cost \$1(\.00)?: cannot bound the cost \(azure prices no model named like the deployment "my-gpt4o", and the model behind it is known only from its reply\); nothing was sent\n$/);
    expect(fake.requests).toHaveLength(0);

    const dry = await cli(['run', '-m', 'azure/gpt-4o', '--max-tokens', '100', '--dry-run', '--json', 'hi'], { AZURE_OPENAI_API_KEY: undefined });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).calls[0]).toMatchObject({ model: 'gpt-4o', priced_as: 'openai/gpt-4o', max_output_tokens: 100 });
    expect(fake.requests).toHaveLength(0);

    const named = await cli(['run', '-m', 'azure/gpt-4o', '--max-tokens', '100', '--max-cost', '1', 'hi']);
    expect(named.code, named.stderr).toBe(0);
    expect(fake.requests).toHaveLength(1);
  });

  it('a failed call is exit 1 with Azure\'s message and what to check; a key the error echoes is never shown', async () => {
    fake.queue({ status: 404 });
    const r = await cli(['run', '-m', 'azure/nope', 'hi']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^llm-usage: azure nope: 404 DeploymentNotFound: The API deployment for this resource does not exist\.[^\n]*\(check the deployment name and --base-url or AZURE_OPENAI_ENDPOINT\)\n/m);
    expect(row(r.stderr, 'Failed Requests')?.value).toBe('1');

    fake.queue({ status: 400, errorMessage: `Invalid key ${AZURE_KEY} for this resource` });
    const echoed = await cli(['run', '-m', 'azure/my-gpt4o', '--json', 'hi']);
    expect(echoed.code).toBe(1);
    expect(JSON.parse(echoed.stdout).calls[0].error).toContain('Invalid key *** for this resource');
    expectNoSecrets(echoed.stdout, echoed.stderr);
  });
});

describe('llm-usage stream --provider azure', () => {
  it('--usage: Azure\'s empty first chunk is not the usage chunk; the reported usage is', async () => {
    fake.queue({ usage: { input: 11, cached: 3, output: 16 } });
    const r = await cli(['stream', '-m', 'azure/my-gpt4o', '--usage']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n`);
    expect(fake.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(row(r.stderr, 'Tokens Used')).toEqual({ value: '27', source: 'reported' });
    expect(row(r.stderr, 'Cached (read)')?.value).toBe('3');
    // 8 input at $2.50, 3 cached at $1.25, 16 output at $10 per 1M.
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.00018375', source: 'pricing.json: openai/gpt-4o' });
  });

  it('without --usage: counted with the tokenizer of the model the chunks named, and marked estimated', async () => {
    const r = await cli(['stream', '-m', 'azure/my-gpt4o', '--json', 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.body.stream_options).toBeUndefined();
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ model: 'gpt-4o-2024-08-06', text: DEFAULT_TEXT, usage_source: 'estimated', estimate: { encoding: 'o200k_base', parts: ['input', 'output'] }, priced_as: 'openai/gpt-4o', ok: true });
    expect(call.usage.output_tokens).toBe(12);
  });

  it('--api responses: the Responses API of the resource, priced by the reply\'s model', async () => {
    fake.queue({ usage: { input: 14, cached: 4, output: 6 } });
    const r = await cli(['stream', '-m', 'azure/my-gpt4o', '--api', 'responses', '--json', 'hi'], { OPENAI_API_VERSION: '2025-04-01-preview' });
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.url).toBe('/openai/responses?api-version=2025-04-01-preview');
    expect(fake.requests[0]?.body.model).toBe('my-gpt4o');
    expect(JSON.parse(r.stdout).calls[0]).toMatchObject({ api: 'responses', model: 'gpt-4o-2024-08-06', usage_source: 'reported', usage: { input_tokens: 14, output_tokens: 6 }, priced_by: 'model' });
  });

  it('a stream cut off: exit 1, the text received kept, its usage estimated and reported', async () => {
    fake.queue({ cutAfter: 3 });
    const r = await cli(['stream', '-m', 'azure/my-gpt4o', '--usage']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("Why don't scientists\n");
    expect(row(r.stderr, 'Failed Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Completion Tokens')).toEqual({ value: '3', source: 'estimated *' });
  });
});

// ---------------------------------------------------------------------------------------------
// exec: the real AzureOpenAI client as a child program

interface Received {
  got: [string, any][];
  bodies: { path: string; status: number; body: string }[];
}
const received = (file: string): Received => JSON.parse(readFileSync(file, 'utf8'));
const bytesOf = (r: Received, i: number) => Buffer.from(r.bodies[i]?.body ?? '', 'base64');

/** The fake's random ids and times, so two runs can be compared; nothing else changes. */
function withoutRandomness(text: string): string {
  return text
    .replace(/chatcmpl-[A-Za-z0-9]+|\bcmpl-[A-Za-z0-9]+|fp_[0-9a-f]+/g, 'ID')
    .replace(/"created":\d+/g, '"created":0');
}


/** Runs the client straight against the fake, without llm-usage (async: the fake lives in this process). */
async function direct(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(OPENAI|ANTHROPIC|AZURE|LLM_USAGE)_/.test(k)) env[k] = v;
  const child = spawn(process.execPath, [AZURE_CLIENT, ...args], { env: { ...env, AZURE_OPENAI_ENDPOINT: fake.url, AZURE_OPENAI_API_KEY: AZURE_KEY, OPENAI_API_VERSION: '2024-10-21' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr };
}

// One reply per call of azure-client.mjs's default plan.
const CLIENT_REPLIES: FakeReply[] = [
  { usage: { input: 21, cached: 5, output: 16 } },
  { usage: { input: 22, output: 17 } },
  { usage: { input: 23, output: 18, reasoning: 4 } },
  { usage: { input: 4, output: 9 } },
  { usage: { input: 5, output: 10 } },
  { usage: { input: 7 } },
];

describe('llm-usage exec: the AzureOpenAI client (openai package)', () => {
  // The user's own settings; exec points AZURE_OPENAI_ENDPOINT (and OPENAI_BASE_URL, which
  // AzureOpenAI takes as its base URL when set) at its proxy.
  const user = { OPENAI_API_VERSION: '2024-10-21', OPENAI_BASE_URL: undefined };

  it('meters every call exactly; the client gets byte for byte what Azure sent; no secret anywhere', async () => {
    const tap = await startTap(fake.url);
    const out = tmp('proxied.json');
    const report = tmp('report.json');
    const ledger = tmp('ledger.jsonl');
    fake.queue(...CLIENT_REPLIES);
    const r = await cli(['exec', '--report', report, '--ledger', ledger, '--azure-upstream', tap.url, '--', process.execPath, AZURE_CLIENT, out], user);
    await tap.close();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('azure-client: 6 calls\n');

    // Counted exactly: each call as the fake reported it.
    const j = JSON.parse(readFileSync(report, 'utf8'));
    expect(j.calls.map((c: any) => [c.provider, c.api, c.stream, c.requested_model, c.model, c.usage_source, c.ok])).toEqual([
      ['azure', 'chat', false, 'my-gpt4o', 'gpt-4o-2024-08-06', 'reported', true],
      ['azure', 'chat', true, 'my-gpt4o', 'gpt-4o-2024-08-06', 'reported', true],
      ['azure', 'chat', true, 'my-gpt4o', 'gpt-4o-2024-08-06', 'reported', true],
      ['azure', 'completions', false, 'my-instruct', 'gpt-35-turbo-instruct', 'reported', true],
      ['azure', 'completions', true, 'my-instruct', 'gpt-35-turbo-instruct', 'reported', true],
      ['azure', 'embeddings', false, 'my-embeddings', 'text-embedding-3-small', 'reported', true],
    ]);
    expect(j.calls.map((c: any) => [c.usage.input_tokens, c.usage.input_token_details.cache_read, c.usage.output_tokens, c.usage.output_token_details.reasoning])).toEqual([
      [21, 5, 16, 0],
      [22, 0, 17, 0],
      [23, 0, 18, 4],
      [4, 0, 9, 0],
      [5, 0, 10, 0],
      [7, 0, 0, 0],
    ]);
    expect(j).toMatchObject({ prompt_tokens: 82, completion_tokens: 70, cached_tokens: 5, reasoning_tokens: 4, successful_requests: 6, failed_requests: 0, unmetered_requests: 0, refused_requests: 0 });
    expect(j.calls.map((c: any) => c.priced_as)).toEqual(['openai/gpt-4o', 'openai/gpt-4o', 'openai/gpt-4o', null, null, 'azure/text-embedding-3-small']);
    // 16 input at $2.50, 5 cached at $1.25, 16 output at $10 per 1M.
    expect(j.calls[0].cost_usd).toBe(0.00020625);

    // Azure's paths, api-version and api-key reached the fake untouched.
    expect(fake.requests.map((q) => [q.url, q.headers['api-key']])).toEqual([
      ['/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', AZURE_KEY],
      ['/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', AZURE_KEY],
      ['/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', AZURE_KEY],
      ['/openai/deployments/my-instruct/completions?api-version=2024-10-21', AZURE_KEY],
      ['/openai/deployments/my-instruct/completions?api-version=2024-10-21', AZURE_KEY],
      ['/openai/deployments/my-embeddings/embeddings?api-version=2024-10-21', AZURE_KEY],
    ]);

    // Byte for byte what the fake sent, wherever the proxy asked for nothing on the client's behalf...
    const got = received(out);
    expect(got.bodies.map((b) => b.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const i of [0, 2, 3, 5]) expect(bytesOf(got, i).equals(tap.bodies[i] as Buffer), got.got[i]?.[0]).toBe(true);
    expect(bytesOf(got, 2).toString()).toMatch(/^data: \{"choices":\[\],"created":0,"id":"","model":"","object":"","prompt_filter_results"/);
    // ...and where it asked for usage (the two streams that did not), it took it back out:
    expect(fake.requests[1]?.body.stream_options).toEqual({ include_usage: true });
    expect(tap.bodies[1]?.toString()).toContain('"usage":{"prompt_tokens":22');
    expect(bytesOf(got, 1).toString()).not.toContain('usage');

    // ...so the client got exactly what it gets without the proxy (the fake's ids and times aside).
    fake.reset();
    fake.queue(...CLIENT_REPLIES);
    const plain = tmp('direct.json');
    const d = await direct([plain]);
    expect(d.code, d.stderr).toBe(0);
    const without = received(plain);
    for (let i = 0; i < 6; i++) {
      expect(withoutRandomness(bytesOf(got, i).toString()), got.got[i]?.[0]).toBe(withoutRandomness(bytesOf(without, i).toString()));
      expect(withoutRandomness(JSON.stringify(got.got[i])), got.got[i]?.[0]).toBe(withoutRandomness(JSON.stringify(without.got[i])));
    }

    const lines = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.command, l.provider, l.api, l.priced_by ?? null])).toEqual([
      ['exec', 'azure', 'chat', 'model'],
      ['exec', 'azure', 'chat', 'model'],
      ['exec', 'azure', 'chat', 'model'],
      ['exec', 'azure', 'completions', null],
      ['exec', 'azure', 'completions', null],
      ['exec', 'azure', 'embeddings', 'model'],
    ]);
    expectNoSecrets(r.stdout, r.stderr, readFileSync(report, 'utf8'), readFileSync(ledger, 'utf8'));
  });

  it('AzureOpenAI({ endpoint }) clashes with the OPENAI_BASE_URL exec sets; --providers azure sets only Azure\'s variable', async () => {
    const clash = await cli(['exec', '--', process.execPath, AZURE_CLIENT, tmp('clash.json'), '--endpoint', 'chat'], user);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('baseURL and endpoint are mutually exclusive');
    expect(fake.requests).toHaveLength(0);

    fake.queue({ usage: { input: 12, output: 3 } });
    const r = await cli(['exec', '--providers', 'azure', '--json', '--', process.execPath, AZURE_CLIENT, tmp('ok.json'), '--endpoint', 'chat'], user);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stderr).calls.map((c: any) => [c.provider, c.requested_model, c.usage.total_tokens])).toEqual([['azure', 'my-gpt4o', 15]]);
    expect(fake.requests.map((q) => q.path)).toEqual(['/openai/deployments/my-gpt4o/chat/completions']);
    expectNoSecrets(r.stdout, r.stderr);

    const bad = await cli(['exec', '--providers', 'azure,gcp', '--', process.execPath, '-e', '0'], user);
    expect({ code: bad.code, stdout: bad.stdout, stderr: bad.stderr }).toEqual({ code: 2, stdout: '', stderr: 'llm-usage: --providers: "gcp" is not one of openai, anthropic, azure, bedrock, google, groq, together, cerebras\n' });
  });

  it('the /openai/v1 form, from a plain-HTTP program: metered by the body\'s deployment, its bearer key passed through', async () => {
    fake.queue({ usage: { input: 30, output: 4 } }, { usage: { input: 9 } });
    const program = `(async () => {
      const base = process.env.AZURE_OPENAI_ENDPOINT + '/openai/v1';
      const headers = { authorization: 'Bearer ' + process.env.AZURE_OPENAI_API_KEY, 'content-type': 'application/json' };
      const chat = await fetch(base + '/chat/completions', { method: 'POST', headers, body: JSON.stringify({ model: 'my-gpt4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }) });
      const text = await chat.text();
      if (!text.startsWith('data: {"choices":[]')) throw new Error('no prompt filter chunk: ' + text.slice(0, 80));
      const emb = await fetch(base + '/embeddings', { method: 'POST', headers, body: JSON.stringify({ model: 'my-embeddings', input: 'hi' }) });
      if (emb.status !== 200) throw new Error('embeddings ' + emb.status);
    })()`;
    const r = await cli(['exec', '--json', '--', process.execPath, '-e', program], user);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stderr);
    expect(j.calls.map((c: any) => [c.provider, c.api, c.stream, c.requested_model, c.model, c.usage.input_tokens, c.usage.output_tokens, c.usage_source])).toEqual([
      ['azure', 'chat', true, 'my-gpt4o', 'gpt-4o-2024-08-06', 30, 4, 'reported'],
      ['azure', 'embeddings', false, 'my-embeddings', 'text-embedding-3-small', 9, 0, 'reported'],
    ]);
    expect(fake.requests.map((q) => [q.url, q.headers.authorization])).toEqual([
      ['/openai/v1/chat/completions', `Bearer ${AZURE_KEY}`],
      ['/openai/v1/embeddings', `Bearer ${AZURE_KEY}`],
    ]);
    // The stream did not ask for usage: the proxy asked on its behalf.
    expect(fake.requests[0]?.body.stream_options).toEqual({ include_usage: true });
    expectNoSecrets(r.stdout, r.stderr);
  });

  it('with no Azure endpoint configured, the client gets a 400 in OpenAI\'s format and its key goes nowhere', async () => {
    const r = await cli(['exec', '--json', '--', process.execPath, AZURE_CLIENT, tmp('none.json'), 'chat'], { ...user, AZURE_OPENAI_ENDPOINT: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('400 llm-usage proxy: this Azure OpenAI request was not sent anywhere: no Azure endpoint is configured (set AZURE_OPENAI_ENDPOINT, or --azure-upstream URL)');
    expect(fake.requests).toHaveLength(0);
    const j = JSON.parse(r.stderr.slice(r.stderr.indexOf('{\n  "calls"')));
    expect(j).toMatchObject({ requests: 1, refused_requests: 1, refused_by_reason: { azure: 1 } });
    expectNoSecrets(r.stdout, r.stderr);
  });
});
