// The OpenAI-compatible providers end to end: `run` and `stream` with --provider NAME or
// NAME/MODEL against the fake's compatible half (test/support/fake-compat.mjs), each provider's
// usage quirk read, priced under its own entry; bad input; and `price`/`count` with NAME/MODEL.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../support/cli.js';
import { DEFAULT_TEXT, startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';

const KEYS = { GROQ_API_KEY: 'gsk_SECRETgroq0123456789', DEEPSEEK_API_KEY: 'sk-SECRETdeepseek012345', XAI_API_KEY: 'xai-SECRETxai0123456789', OPENROUTER_API_KEY: 'sk-or-v1-SECRETrouter0123', MISTRAL_API_KEY: 'SECRETmistral0123456789' };

const GROQ_CLIENT = fileURLToPath(new URL('../support/clients/groq-client.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-usage-compat-'));
let files = 0;
const tmp = (name: string) => join(dir, `${++files}-${name}`);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

/** Runs the CLI with the keys set and no provider base-URL variable of the caller's. */
function cli(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: { ...KEYS, OLLAMA_HOST: undefined, ...extra }, timeoutMs: 30_000 });
}

function expectNoSecrets(...texts: string[]) {
  for (const text of texts) expect(text).not.toContain('SECRET');
}

function row(summary: string, label: string): { value: string; source: string } | null {
  const line = summary.split('\n').find((l) => new RegExp(`^│\\s+${label.replace(/[()]/g, '\\$&')}\\s+│`).test(l));
  if (!line) return null;
  const cells = line.split('│').map((c) => c.trim());
  return { value: cells[2] as string, source: cells[3] as string };
}

describe('run and stream with a compatible provider', () => {
  it('groq/MODEL: the groq key as a bearer, the model without its prefix, priced under groq', async () => {
    fake.queue({ usage: { input: 1000, output: 500 } });
    const r = await cli(['run', '-m', 'groq/llama-3.1-8b-instant', '--base-url', `${fake.url}/compat/groq/openai/v1`, 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n`);
    const [req] = fake.requests;
    expect(req?.path).toBe('/compat/groq/openai/v1/chat/completions');
    expect(req?.headers.authorization).toBe(`Bearer ${KEYS.GROQ_API_KEY}`);
    expect(req?.body.model).toBe('llama-3.1-8b-instant');
    // 1,000 x $0.05 + 500 x $0.08 per 1M.
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.00009', source: 'pricing.json: groq/llama-3.1-8b-instant' });
    expectNoSecrets(r.stdout, r.stderr);
  });

  it("groq stream: the usage in x_groq.usage on the last chunk is read (without --usage)", async () => {
    fake.queue({ usage: { input: 1000, output: 500 } });
    const r = await cli(['stream', '--provider', 'groq', '-m', 'llama-3.1-8b-instant', '--base-url', `${fake.url}/compat/groq/openai/v1`, '--json', 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ provider: 'groq', usage_source: 'reported', usage: { input_tokens: 1000, output_tokens: 500 }, priced_as: 'groq/llama-3.1-8b-instant', cost_usd: 0.00009 });
  });

  it('deepseek stream: prompt_cache_hit_tokens shown as cache reads and billed as such', async () => {
    fake.queue({ usage: { input: 1000, cached: 600, output: 200 } });
    const r = await cli(['stream', '--usage', '-m', 'deepseek/deepseek-v3.1-terminus', '--base-url', `${fake.url}/compat/deepseek`, 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.path).toBe('/compat/deepseek/chat/completions');
    expect(fake.requests[0]?.body.stream_options).toEqual({ include_usage: true });
    expect(row(r.stderr, 'Cached (read)')).toEqual({ value: '600', source: 'reported, included above' });
    // 400 x $0.27 + 600 x $0.13 + 200 x $0.95 per 1M.
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.000376', source: 'pricing.json: deepseek/deepseek-v3.1-terminus' });
  });

  it('x-ai: reasoning tokens outside completion_tokens count as output', async () => {
    fake.queue({ usage: { input: 100, cached: 20, output: 350, reasoning: 300 } });
    const r = await cli(['run', '--provider', 'x-ai', '-m', 'grok-3-mini', '--base-url', `${fake.url}/compat/x-ai/v1`, 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(row(r.stderr, 'Completion Tokens')).toEqual({ value: '350', source: 'reported' });
    expect(row(r.stderr, 'Reasoning')).toEqual({ value: '300', source: 'reported, included above' });
    expect(row(r.stderr, 'Tokens Used')?.value).toBe('450');
    // 80 x $0.30 + 20 x $0.075 + 350 x $0.50 per 1M.
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.0002005', source: 'pricing.json: x-ai/grok-3-mini' });
  });

  it('openrouter: both costs shown, and which the total uses', async () => {
    fake.queue({ usage: { input: 1000, output: 100, cost: 0.0036 } });
    const r = await cli(['run', '-m', 'openrouter/openai/gpt-4o', '--base-url', `${fake.url}/compat/openrouter/api/v1`, 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.body.model).toBe('openai/gpt-4o');
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.0036', source: 'reported by the provider: see below' });
    expect(r.stderr).toContain("openrouter openai/gpt-4o: openrouter reported $0.0036 for 1 call (usage.cost), which the total uses; pricing.json's openai/gpt-4o prices come to $0.0035\n");
  });

  it('mistral stream: usage on the finish chunk, priced under mistral', async () => {
    fake.queue({ usage: { input: 2000, output: 1000 } });
    const r = await cli(['stream', '-m', 'mistral/mistral-small-latest', '--base-url', `${fake.url}/compat/mistral/v1`, 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.0005', source: 'pricing.json: mistral/mistral-small-latest' });
  });

  it('ollama: no key, OLLAMA_HOST as the server, no price and says so', async () => {
    fake.queue({ usage: { input: 10, output: 10 } });
    // OLLAMA_HOST is a host:port; the fake serves ollama under /compat/ollama, so the test gives the path with it.
    const r = await cli(['run', '-m', 'ollama/llama3.2', 'hi'], { OLLAMA_HOST: `${fake.url}/compat/ollama` });
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.path).toBe('/compat/ollama/v1/chat/completions');
    expect(row(r.stderr, 'Total Cost (USD)')?.value).toBe('unknown');
    expect(r.stderr).toContain('cost unknown: ollama runs "llama3.2" on your own machine');
  });

  it('together legacy completions with --api completions', async () => {
    fake.queue({ usage: { input: 1000, output: 1000 } });
    const r = await cli(['run', '--provider', 'together', '--api', 'completions', '-m', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', '--base-url', `${fake.url}/compat/together/v1`, 'Once upon'], { TOGETHER_API_KEY: 'tk' });
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.path).toBe('/compat/together/v1/completions');
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.00176', source: 'pricing.json: together/meta-llama/Llama-3.3-70B-Instruct-Turbo' });
  });
});

describe('bad input', () => {
  it('a missing key: exit 2, one line naming the variable, nothing sent', async () => {
    const r = await cli(['run', '-m', 'groq/llama-3.1-8b-instant', '--base-url', `${fake.url}/compat/groq/openai/v1`, 'hi'], { GROQ_API_KEY: undefined });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('GROQ_API_KEY');
    expect(fake.requests).toHaveLength(0);
  });

  it('an API the provider does not serve: exit 2', async () => {
    const r = await cli(['run', '--provider', 'groq', '--api', 'completions', '-m', 'llama-3.1-8b-instant', 'hi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('llm-usage: --api on groq is chat, not "completions"\n');
  });

  it('an unknown --provider lists the compatible ones', async () => {
    const r = await cli(['run', '--provider', 'grok', '-m', 'x', 'hi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('groq, deepseek, mistral, x-ai, together, fireworks, cerebras, perplexity, moonshotai, openrouter, ollama');
  });

  it('a failed call is exit 1 with the provider named, and no secret', async () => {
    fake.queue({ status: 401 });
    const r = await cli(['run', '-m', 'deepseek/deepseek-chat', '--base-url', `${fake.url}/compat/deepseek`, 'hi']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('deepseek deepseek-chat: 401');
    expect(r.stderr).toContain('check DEEPSEEK_API_KEY');
    expectNoSecrets(r.stdout, r.stderr);
  });
});

describe('price and count take NAME/MODEL', () => {
  it('price --model groq/llama-3.1-8b-instant is groq\'s price', async () => {
    const r = await cli(['price', '--model', 'groq/llama-3.1-8b-instant', '--input-tokens', '1000', '--output-tokens', '500', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ provider: 'groq', matched_model: 'llama-3.1-8b-instant', cost_usd: 0.00009 });
  });

  it('price --model openrouter/openai/gpt-4o is the vendor\'s price', async () => {
    const r = await cli(['price', '--model', 'openrouter/openai/gpt-4o', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ provider: 'openai', matched_model: 'gpt-4o' });
  });

  it('count --model x-ai/grok-3-mini prices under x-ai', async () => {
    const r = await cli(['count', '--model', 'x-ai/grok-3-mini', '--json', 'hello world']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ priced_as: 'x-ai/grok-3-mini' });
  });
});

describe('llm-usage exec: compatible providers', () => {
  it('groq-sdk (GROQ_BASE_URL) and the openai SDK on /deepseek/v1: metered exactly, priced under their providers, no secret anywhere', async () => {
    const out = tmp('client.json');
    const report = tmp('report.json');
    const ledger = tmp('ledger.jsonl');
    fake.queue({ usage: { input: 1000, output: 500 } }, { usage: { input: 2000, output: 1000 } }, { usage: { input: 1000, cached: 600, output: 200 } });
    const r = await cli(
      ['exec', '--report', report, '--ledger', ledger, '--upstream', `groq=${fake.url}/compat/groq/openai/v1`, '--upstream', `deepseek=${fake.url}/compat/deepseek`, '--', process.execPath, GROQ_CLIENT, out],
      { WITH_DEEPSEEK: '1', GROQ_BASE_URL: undefined },
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(readFileSync(report, 'utf8'));
    expect(j.calls.map((c: any) => [c.provider, c.api, c.stream, c.model, c.usage_source, c.usage.input_tokens, c.usage.input_token_details.cache_read, c.usage.output_tokens, c.priced_as, c.cost_usd])).toEqual([
      ['groq', 'chat', false, 'llama-3.1-8b-instant', 'reported', 1000, 0, 500, 'groq/llama-3.1-8b-instant', 0.00009],
      // groq-sdk asked for no usage: Groq's x_groq.usage on the last chunk is read.
      ['groq', 'chat', true, 'llama-3.1-8b-instant', 'reported', 2000, 0, 1000, 'groq/llama-3.1-8b-instant', 0.00018],
      ['deepseek', 'chat', false, 'deepseek-v3.1-terminus', 'reported', 1000, 600, 200, 'deepseek/deepseek-v3.1-terminus', 0.000376],
    ]);
    // The requests reached each provider's upstream under its own path, with its own key.
    expect(fake.requests.map((q) => [q.path, q.headers.authorization])).toEqual([
      ['/compat/groq/openai/v1/chat/completions', `Bearer ${KEYS.GROQ_API_KEY}`],
      ['/compat/groq/openai/v1/chat/completions', `Bearer ${KEYS.GROQ_API_KEY}`],
      ['/compat/deepseek/chat/completions', `Bearer ${KEYS.DEEPSEEK_API_KEY}`],
    ]);
    // The SDKs got what the provider sent: groq-sdk's stream kept its x_groq usage.
    const client = JSON.parse(readFileSync(out, 'utf8'));
    expect(client.chat.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500 });
    expect(client.stream.at(-1).x_groq.usage).toMatchObject({ prompt_tokens: 2000, completion_tokens: 1000 });
    expect(client.deepseek.usage).toMatchObject({ prompt_cache_hit_tokens: 600 });
    expectNoSecrets(r.stdout, r.stderr, readFileSync(report, 'utf8'), readFileSync(ledger, 'utf8'));
  });

  it("the user's own GROQ_BASE_URL is groq's upstream, as groq-sdk would have used it", async () => {
    const report = tmp('report.json');
    fake.queue({ usage: { input: 10, output: 10 } }, { usage: { input: 10, output: 10 } });
    const r = await cli(['exec', '--report', report, '--', process.execPath, GROQ_CLIENT, tmp('client.json')], { GROQ_BASE_URL: `${fake.url}/compat/groq` });
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests.map((q) => q.path)).toEqual(['/compat/groq/openai/v1/chat/completions', '/compat/groq/openai/v1/chat/completions']);
    expect(JSON.parse(readFileSync(report, 'utf8')).calls).toHaveLength(2);
  });

  it('--upstream with an unknown name or no URL: exit 2, one line, nothing run', async () => {
    for (const bad of ['grok=http://127.0.0.1:9', 'groq', 'groq=not a url']) {
      const r = await cli(['exec', '--upstream', bad, '--', process.execPath, '-e', 'console.log("ran")']);
      expect(r.code, bad).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain('--upstream');
    }
  });

  it('exec --providers groq sets GROQ_BASE_URL only', async () => {
    const r = await cli(['exec', '--providers', 'groq', '--', process.execPath, '-e', 'console.log(JSON.stringify([process.env.GROQ_BASE_URL, process.env.OPENAI_BASE_URL ?? null, process.env.TOGETHER_BASE_URL ?? null]))'], { GROQ_BASE_URL: undefined, TOGETHER_BASE_URL: undefined });
    expect(r.code, r.stderr).toBe(0);
    const [groq, openai, together] = JSON.parse(r.stdout);
    expect(groq).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/groq$/);
    expect(openai).toBeNull();
    expect(together).toBeNull();
  });
});

describe('--dry-run and --max-cost with a compatible provider', () => {
  it('bound by the provider\'s own prices; an unpriced one cannot be bounded, and nothing is sent', async () => {
    const r = await cli(['run', '-m', 'groq/llama-3.1-8b-instant', '--max-tokens', '100', '--dry-run', '--json', 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    // 11 prompt tokens (tiktoken, approximate) x $0.05 + 100 output x $0.08 per 1M.
    expect(JSON.parse(r.stdout).calls[0]).toMatchObject({ priced_as: 'groq/llama-3.1-8b-instant', prompt_tokens: 11, max_output_tokens: 100, cost_usd: 0.00000855 });
    const unpriced = await cli(['run', '-m', 'groq/gpt-4o', '--max-tokens', '100', '--max-cost', '1', '--base-url', `${fake.url}/compat/groq/openai/v1`, 'hi']);
    expect(unpriced.code).toBe(2);
    expect(unpriced.stderr).toContain('no price for model "gpt-4o"');
    expect(fake.requests).toHaveLength(0);
  });
});
