import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodingForModel, countTokens } from '../../src/tokens.js';
import { runCli, type CliResult, summaryRow as row } from '../support/cli.js';
import { startFakeProvider, DEFAULT_TEXT, type FakeProvider } from '../support/fake-provider.mjs';

// Distinctive keys: no output, error or file may ever show them.
const OPENAI_KEY = 'sk-proj-SECRETopenaiKEY0123456789';
const ANTHROPIC_KEY = 'sk-ant-SECRETanthropicKEY0123456789';

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const quick = { 'retry-after-ms': '1' };

function cli(args: string[], extra: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> {
  return runCli(args, {
    env: {
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      OPENAI_BASE_URL: `${fake.url}/v1`,
      ANTHROPIC_BASE_URL: fake.url,
      ...extra,
    },
    input,
  });
}

function expectNoKeys(r: CliResult) {
  for (const text of [r.stdout, r.stderr]) {
    expect(text).not.toContain(OPENAI_KEY);
    expect(text).not.toContain(ANTHROPIC_KEY);
    expect(text).not.toContain('SECRET');
  }
}


describe('llm-usage run', () => {
  it('reproduces the seed: gpt-3.5-turbo-0125 "Tell me a joke" = 11 + 16 = 27 tokens, $0.0000295', async () => {
    fake.queue({ usage: { input: 11, output: 16 } });
    const r = await cli(['run', '-m', 'gpt-3.5-turbo-0125', 'Tell me a joke']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n`);
    expect(row(r.stderr, 'Tokens Used')).toEqual({ value: '27', source: 'reported' });
    expect(row(r.stderr, 'Prompt Tokens')).toEqual({ value: '11', source: 'reported' });
    expect(row(r.stderr, 'Completion Tokens')).toEqual({ value: '16', source: 'reported' });
    expect(row(r.stderr, 'Successful Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.0000295', source: 'pricing.json: openai/gpt-3.5-turbo' });
    expect(row(r.stderr, 'Failed Requests')).toBeNull();
    const req = fake.requests[0];
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.body).toMatchObject({ model: 'gpt-3.5-turbo-0125', messages: [{ role: 'user', content: 'Tell me a joke' }] });
    expect(req?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expectNoKeys(r);
  });

  it('tracks several calls in sequence, like the seed\'s 54 tokens for two jokes', async () => {
    const r = await cli(['run', '-m', 'gpt-3.5-turbo-0125', '--repeat', '2', 'Tell me a joke'], {});
    expect(r.code).toBe(0);
    expect(row(r.stderr, 'Tokens Used')?.value).toBe('54');
    expect(row(r.stderr, 'Successful Requests')?.value).toBe('2');
    expect(fake.requests).toHaveLength(2);
  });

  it('calls once per prompt, in order, and reads the prompt from stdin when none is given', async () => {
    const r = await cli(['run', 'first', 'second', 'third']);
    expect(r.code).toBe(0);
    expect(fake.requests.map((q) => q.body.messages.at(-1).content)).toEqual(['first', 'second', 'third']);
    expect(fake.requests.every((q) => q.body.model === 'gpt-4o-mini')).toBe(true);

    fake.reset();
    const piped = await cli(['run', '--system', 'Be brief'], {}, 'from stdin\n');
    expect(piped.code).toBe(0);
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: 'from stdin' },
    ]);
  });

  it('--json prints only the documented object on stdout', async () => {
    fake.queue({ usage: { input: 11, output: 16 } });
    const r = await cli(['run', '-m', 'gpt-3.5-turbo-0125', '--json', 'Tell me a joke']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    expect(j.calls).toHaveLength(1);
    expect(j.calls[0]).toMatchObject({
      provider: 'openai',
      api: 'chat',
      model: 'gpt-3.5-turbo-0125',
      stream: false,
      ok: true,
      error: null,
      text: DEFAULT_TEXT,
      usage: { input_tokens: 11, output_tokens: 16, total_tokens: 27, input_token_details: { cache_read: 0, cache_creation: 0 }, output_token_details: { reasoning: 0 } },
      usage_source: 'reported',
    });
    expect(j.calls[0].cost_usd).toBeCloseTo(0.0000295, 15);
    expect(j).toMatchObject({ total_tokens: 27, prompt_tokens: 11, completion_tokens: 16, successful_requests: 1, failed_requests: 0, cost_complete: true });
    expect(j.total_cost_usd).toBeCloseTo(0.0000295, 15);
  });

  it('keeps OpenAI cached tokens inside the prompt and reasoning inside the completion', async () => {
    fake.queue({ usage: { input: 2000, cached: 1500, output: 600, reasoning: 500 } });
    const r = await cli(['run', '-m', 'o1', '--json', 'think']);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call.usage).toMatchObject({ input_tokens: 2000, output_tokens: 600, total_tokens: 2600, input_token_details: { cache_read: 1500 }, output_token_details: { reasoning: 500 } });
    // o1: $15 input, $7.50 cached, $60 output per 1M; reasoning bills at the output rate.
    expect(call.cost_usd).toBeCloseTo((500 * 15 + 1500 * 7.5 + 600 * 60) / 1e6, 12);

    fake.queue({ usage: { input: 2000, cached: 1500, output: 600, reasoning: 500 } });
    const table = await cli(['run', '-m', 'o1', 'think']);
    expect(row(table.stderr, 'Cached (read)')?.value).toBe('1,500');
    expect(row(table.stderr, 'Reasoning')?.value).toBe('500');
    expect(row(table.stderr, 'Prompt Tokens')?.value).toBe('2,000');
  });

  it('adds Anthropic cache reads and writes on top of input_tokens, and prices them', async () => {
    fake.queue({ usage: { input: 1520, cached: 1000, cacheWrite: 500, output: 100 } });
    const r = await cli(['run', '-m', 'claude-3-5-sonnet-20241022', '--json', 'hi']);
    expect(r.code).toBe(0);
    expect(fake.requests[0]?.body).toMatchObject({ model: 'claude-3-5-sonnet-20241022' });
    const call = JSON.parse(r.stdout).calls[0];
    expect(call.provider).toBe('anthropic');
    expect(call.usage).toMatchObject({ input_tokens: 1520, input_token_details: { cache_read: 1000, cache_creation: 500 }, output_tokens: 100 });
    expect(call.cost_usd).toBeCloseTo(0.003735, 12);
  });

  it('a model without a price: cost unknown and the total incomplete, never $0', async () => {
    fake.queue({ model: 'my-local-llama' });
    const r = await cli(['run', '-m', 'my-local-llama', 'hi']);
    expect(r.code).toBe(0);
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: 'unknown', source: 'incomplete: see below' });
    expect(r.stderr).toContain('cost unknown: no price for model "my-local-llama"');
    fake.queue({ model: 'my-local-llama' });
    const j = JSON.parse((await cli(['run', '-m', 'my-local-llama', '--json', 'hi'])).stdout);
    expect(j.total_cost_usd).toBeNull();
    expect(j.cost_complete).toBe(false);
    expect(j.calls[0].cost_usd).toBeNull();
  });

  it('a model reported by a compatible server without usage is estimated with tiktoken', async () => {
    fake.queue({ usage: null });
    const r = await cli(['run', '-m', 'gpt-3.5-turbo-0125', '--json', 'Tell me a joke']);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call.usage_source).toBe('estimated');
    expect(call.usage.input_tokens).toBe(11);
    expect(call.usage.output_tokens).toBe(await countTokens(DEFAULT_TEXT, 'cl100k_base'));
    expect(call.estimate).toEqual({ encoding: 'cl100k_base', parts: ['input', 'output'], approximation: false });
  });
});

describe('llm-usage stream', () => {
  it('`stream --usage` works as written: "Tell me a joke", usage asked for and reported', async () => {
    const r = await cli(['stream', '--usage']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n`);
    expect(fake.requests[0]?.body).toMatchObject({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Tell me a joke' }],
    });
    expect(row(r.stderr, 'Tokens Used')).toEqual({ value: '27', source: 'reported' });
  });

  it('a chat stream without --usage is counted with tiktoken and marked estimated', async () => {
    const r = await cli(['stream', '-m', 'gpt-3.5-turbo-0125', 'Tell me a joke']);
    expect(r.code).toBe(0);
    expect(fake.requests[0]?.body.stream_options).toBeUndefined();
    const completion = await countTokens(DEFAULT_TEXT, encodingForModel('gpt-3.5-turbo-0125'));
    expect(row(r.stderr, 'Prompt Tokens')).toEqual({ value: '11', source: 'estimated *' });
    expect(row(r.stderr, 'Completion Tokens')).toEqual({ value: String(completion), source: 'estimated *' });
    expect(r.stderr).toContain('* estimated with tiktoken cl100k_base');
  });

  it('legacy completion streams count tokens (LangChain counts 0): gpt-3.5-turbo-instruct prompt = 4', async () => {
    const r = await cli(['stream', '-m', 'gpt-3.5-turbo-instruct', '--json', 'Tell me a joke']);
    expect(r.code).toBe(0);
    expect(fake.requests[0]?.path).toBe('/v1/completions');
    const call = JSON.parse(r.stdout).calls[0];
    expect(call.api).toBe('completions');
    expect(call.usage.input_tokens).toBe(4);
    expect(call.usage.output_tokens).toBe(await countTokens(DEFAULT_TEXT, 'cl100k_base'));
    expect(call.usage_source).toBe('estimated');
    expect(call.cost_usd).toBeGreaterThan(0);

    fake.reset();
    fake.queue({ usage: { input: 4, output: 14 } });
    const asked = await cli(['stream', '-m', 'gpt-3.5-turbo-instruct', '--usage', '--json', 'Tell me a joke']);
    expect(fake.requests[0]?.body.stream_options).toEqual({ include_usage: true });
    const reported = JSON.parse(asked.stdout);
    expect(reported.calls[0].usage_source).toBe('reported');
    expect(reported.total_cost_usd).toBeCloseTo(0.000034, 12);
  });

  it('Anthropic stream usage is cumulative: replaced, not added (16, not 17)', async () => {
    for (const anthropicDeltaUsage of ['output', 'full'] as const) {
      fake.reset();
      fake.queue({ usage: { input: 12, output: 16 }, anthropicDeltaUsage });
      const r = await cli(['stream', '-m', 'claude-3-haiku-20240307', '--json']);
      const call = JSON.parse(r.stdout).calls[0];
      expect(call.usage, anthropicDeltaUsage).toMatchObject({ input_tokens: 12, output_tokens: 16, total_tokens: 28 });
      expect(call.usage_source).toBe('reported');
    }
  });

  it('Responses API streams report usage with cached and reasoning tokens', async () => {
    fake.queue({ usage: { input: 100, cached: 40, output: 50, reasoning: 30 } });
    const r = await cli(['stream', '--api', 'responses', '-m', 'gpt-4o-mini', '--json', 'hello']);
    expect(r.code).toBe(0);
    expect(fake.requests[0]?.path).toBe('/v1/responses');
    const call = JSON.parse(r.stdout).calls[0];
    expect(call.api).toBe('responses');
    expect(call.usage).toMatchObject({ input_tokens: 100, output_tokens: 50, input_token_details: { cache_read: 40 }, output_token_details: { reasoning: 30 } });
  });

  it('n=2: one usage covers both choices, and both are printed', async () => {
    fake.queue({ text: ['first choice', 'second choice'], usage: { input: 11, output: 6 } });
    const r = await cli(['stream', '-n', '2', '--usage', '-m', 'gpt-3.5-turbo-0125']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('first choice');
    expect(r.stdout).toContain('--- choice 2 ---\nsecond choice');
    expect(row(r.stderr, 'Tokens Used')?.value).toBe('17');
  });
});

describe('failures lose nothing', () => {
  it('401: one line with status, message and what to do; other calls still count; exit 1', async () => {
    fake.queue({ status: 401, errorMessage: `Incorrect API key provided: ${OPENAI_KEY}` }, { usage: { input: 11, output: 16 } });
    const r = await cli(['run', '-m', 'gpt-3.5-turbo-0125', 'one', 'two']);
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('llm-usage:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/401.*Incorrect API key provided.*\(check OPENAI_API_KEY\)/);
    expect(row(r.stderr, 'Successful Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Failed Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Tokens Used')?.value).toBe('27');
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n`);
    expectNoKeys(r);
  });

  it('404 names the model; 500s are retried by the SDK, then fail; 429 then success is retried', async () => {
    fake.queue({ status: 404, errorMessage: 'The model `gpt-9` does not exist' });
    const notFound = await cli(['run', '-m', 'gpt-9', 'hi']);
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(/llm-usage: openai gpt-9: 404.*does not exist \(check the model name/);

    fake.reset();
    fake.setDefault({ status: 500, errorMessage: 'boom', headers: quick });
    const failing = await cli(['run', 'hi']);
    expect(failing.code).toBe(1);
    expect(fake.requests.length).toBe(3); // the first try and the SDK's two retries
    expect(failing.stderr).toMatch(/500.*boom/);

    fake.reset();
    fake.queue({ status: 429, errorMessage: 'slow down', headers: quick }, { usage: { input: 11, output: 16 } });
    const retried = await cli(['run', '--verbose', 'hi']);
    expect(retried.code).toBe(0);
    expect(retried.stderr).toMatch(/attempt 1: POST \/v1\/chat\/completions -> 429 \(request id req_\w+\)/);
    expect(retried.stderr).toMatch(/attempt 2: POST \/v1\/chat\/completions -> 200 \(request id req_\w+\)/);
    expect(row(retried.stderr, 'Successful Requests')?.value).toBe('1');
    expectNoKeys(retried);
  });

  it('a stream cut off keeps its text, is estimated, and counts as failed', async () => {
    fake.queue({ chunks: ['Why', ' did', ' the', ' chicken', ' cross'], cutAfter: 3 });
    const r = await cli(['stream', '--usage', '-m', 'gpt-4o-mini', '--json', 'joke']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.calls[0]).toMatchObject({ ok: false, text: 'Why did the', usage_source: 'estimated' });
    expect(j.calls[0].usage.output_tokens).toBe(await countTokens('Why did the', 'o200k_base'));
    expect(j.failed_requests).toBe(1);
    expect(r.stderr).toMatch(/stream-cut|cut off/);
  });

  it('an Anthropic error mid-stream keeps the reported input and estimates the output, as an approximation', async () => {
    fake.queue({ chunks: ['Hello', ' there', ' friend'], usage: { input: 20, output: 3 }, errorEvent: 2 });
    const r = await cli(['stream', '-m', 'claude-3-haiku-20240307', 'hi']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Hello there');
    expect(row(r.stderr, 'Prompt Tokens')).toEqual({ value: '20', source: 'reported' });
    expect(row(r.stderr, 'Completion Tokens')?.source).toBe('estimated *');
    expect(r.stderr).toMatch(/approximation/);
    expect(r.stderr).toMatch(/overloaded/i);
    expect(row(r.stderr, 'Failed Requests')?.value).toBe('1');
  });

  it('a missing API key is exit 2 before any request, naming the variable', async () => {
    const r = await cli(['run', 'hi'], { OPENAI_API_KEY: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('llm-usage: no API key: set the OPENAI_API_KEY environment variable\n');
    const a = await cli(['stream', '-m', 'claude-3-haiku-20240307'], { ANTHROPIC_API_KEY: undefined });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('ANTHROPIC_API_KEY');
    expect(fake.requests).toHaveLength(0);
  });

  it('an unreachable server is a failed call with advice, exit 1', async () => {
    const r = await cli(['run', '--base-url', 'http://127.0.0.1:9/v1', 'hi'], { OPENAI_BASE_URL: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/connection.*check the network and --base-url/);
    expect(row(r.stderr, 'Failed Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Total Cost (USD)')?.value).toBe('$0.00');
  });

  it('Ctrl-C stops, prints the partial summary and exits 130', async () => {
    fake.queue({ usage: { input: 11, output: 16 } }, { delayMs: 10_000 });
    const started = runCli(['run', '-m', 'gpt-3.5-turbo-0125', 'one', 'two', 'three'], {
      env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${fake.url}/v1` },
      onSpawn: (pid) => {
        const poll = setInterval(() => {
          if (fake.requests.length >= 2) {
            clearInterval(poll);
            setTimeout(() => process.kill(pid, 'SIGINT'), 100);
          }
        }, 20);
      },
    });
    const r = await started;
    expect(r.code).toBe(130);
    expect(fake.requests).toHaveLength(2); // the third call was never made
    expect(row(r.stderr, 'Successful Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Failed Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Tokens Used')?.value).toBe('27');
  });

  it('bad options are exit 2', async () => {
    for (const args of [
      ['run', '--provider', 'cohere', 'hi'],
      ['run', '--api', 'soap', 'hi'],
      ['stream', '-m', 'claude-3-haiku-20240307', '-n', '2'],
      ['run', '--temperature', 'hot', 'hi'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(fake.requests).toHaveLength(0);
  });
});
