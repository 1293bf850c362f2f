import { existsSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';

const KEY = 'sk-proj-SECRETledgerKEY0123456789';
let fake: FakeProvider;
let dir: string;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  dir = mkdtempSync(join(tmpdir(), 'llm-usage-e2e-ledger-'));
});

const env = (extra: Record<string, string | undefined> = {}) => ({
  OPENAI_API_KEY: KEY,
  ANTHROPIC_API_KEY: KEY,
  OPENAI_BASE_URL: `${fake.url}/v1`,
  ANTHROPIC_BASE_URL: fake.url,
  ...extra,
});
const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));

describe('the ledger', () => {
  it('records every run and stream call, one run id per command, with no prompt, reply or key', async () => {
    const ledger = join(dir, 'ledger.jsonl');
    fake.queue({ usage: { input: 11, output: 16 } }, { status: 401, errorMessage: 'bad key' });
    const r = await runCli(['run', '-m', 'gpt-3.5-turbo-0125', '--ledger', ledger, 'Tell me a joke', 'another'], { env: env() });
    expect(r.code).toBe(1);
    await runCli(['stream', '-m', 'claude-3-haiku-20240307', 'hi'], { env: env({ LLM_USAGE_LEDGER: ledger }) });
    const text = readFileSync(ledger, 'utf8');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('Tell me a joke');
    expect(text).not.toContain('scientists');
    const entries = lines(ledger);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({ command: 'run', provider: 'openai', api: 'chat', model: 'gpt-3.5-turbo-0125', usage: { input_tokens: 11, output_tokens: 16 }, usage_source: 'reported', ok: true, error_kind: null });
    expect(entries[0].cost_usd).toBeCloseTo(0.0000295, 15);
    expect(entries[1]).toMatchObject({ command: 'run', ok: false, error_kind: 'http', status: 401, usage_source: 'none' });
    expect(entries[0].run_id).toBe(entries[1].run_id);
    expect(entries[2]).toMatchObject({ command: 'stream', provider: 'anthropic', api: 'messages' });
    expect(entries[2].run_id).not.toBe(entries[0].run_id);
    expect(typeof entries[0].duration_ms).toBe('number');
  });

  it('--log-content adds prompts and replies; --no-ledger writes nothing; the default is the data directory', async () => {
    const ledger = join(dir, 'content.jsonl');
    await runCli(['run', '--ledger', ledger, '--log-content', 'Tell me a joke'], { env: env() });
    expect(lines(ledger)[0]).toMatchObject({ prompt: 'Tell me a joke', text: expect.stringContaining('scientists') });

    await runCli(['run', '--no-ledger', 'hi'], { env: env({ LLM_USAGE_LEDGER: join(dir, 'off.jsonl') }) });
    expect(existsSync(join(dir, 'off.jsonl'))).toBe(false);

    const data = join(dir, 'xdg');
    await runCli(['run', 'hi'], { env: env({ LLM_USAGE_LEDGER: undefined, XDG_DATA_HOME: data }) });
    expect(lines(join(data, 'llm-usage', 'ledger.jsonl'))).toHaveLength(1);
  });

  it('an unwritable ledger is one warning; the command still succeeds', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = await runCli(['run', '--ledger', join(file, 'ledger.jsonl'), 'hi', 'again'], { env: env() });
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toEqual([expect.stringMatching(/^llm-usage: warning: cannot write the ledger .*a-file\/ledger\.jsonl: ENOTDIR \(use --ledger FILE or --no-ledger\)$/)]);
  });
});

describe('llm-usage report', () => {
  function seedLedger(): string {
    const file = join(dir, 'seeded.jsonl');
    const usage = (i: number, o: number, cached = 0) => ({ input_tokens: i, output_tokens: o, total_tokens: i + o, input_token_details: { cache_read: cached, cache_creation: 0 }, output_token_details: { reasoning: 0 } });
    const e = (time: string, model: string, cost: number | null, over = {}) =>
      JSON.stringify({ time, command: 'run', run_id: 'r', provider: model.startsWith('claude') ? 'anthropic' : 'openai', api: 'chat', model, priced_as: null, usage: usage(100, 50), usage_source: 'reported', cost_usd: cost, ok: true, error_kind: null, status: null, duration_ms: 5, ...over });
    writeFileSync(
      file,
      [
        e('2026-11-20T09:00:00.000Z', 'gpt-4o', 0.25),
        e('2026-11-20T10:00:00.000Z', 'gpt-4o-mini', 0.05, { usage: usage(1000, 10, 600) }),
        e('2026-11-21T10:00:00.000Z', 'claude-3-haiku-20240307', 0.5, { ok: false, error_kind: 'stream-cut', usage_source: 'estimated', command: 'stream' }),
        e('2026-11-22T10:00:00.000Z', 'my-model', null),
      ].join('\n') + '\n',
    );
    return file;
  }

  it('a table by day with a total row and a bar chart of cost', async () => {
    const r = await runCli(['report', '--ledger', seedLedger()]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/│ 2026-11-20\s+│\s+2 │\s+1,100 \(600 cached\) │\s+60 │\s+1,160 │\s+\$0\.30 │\s+0% \/ 0% │/);
    expect(r.stdout).toMatch(/│ 2026-11-21\s+│\s+1 \(1 failed\) │\s+100 │\s+50 │\s+150 │\s+\$0\.50 │\s+100% \/ 0% │/);
    expect(r.stdout).toMatch(/│ 2026-11-22 .*│\s+unknown │\s+0% \/ 100% │/);
    expect(r.stdout).toMatch(/│ Total\s+│\s+4 \(1 failed\) │ .* │\s+\$0\.80 \+ unknown │\s+25% \/ 25% │/);
    expect(r.stdout).toMatch(/^2026-11-21 █{40} \$0\.50$/m);
    expect(r.stdout).toMatch(/^2026-11-20 █{24} {16} \$0\.30$/m);
    expect(r.stdout).toContain('1 had no price');
    const noChart = await runCli(['report', '--ledger', seedLedger(), '--no-chart']);
    expect(noChart.stdout).not.toContain('█');
  });

  it('--by, --model, --provider, --since/--until, --json and --csv', async () => {
    const file = seedLedger();
    const byModel = JSON.parse((await runCli(['report', '--ledger', file, '--by', 'model', '--json'])).stdout);
    expect(byModel.map((r: { model: string }) => r.model)).toEqual(['claude-3-haiku-20240307', 'gpt-4o', 'gpt-4o-mini', 'my-model']);
    expect(byModel[0]).toMatchObject({ requests: 1, total_tokens: 150, input_tokens: 100, output_tokens: 50, cost_usd: 0.5 });
    const window = JSON.parse((await runCli(['report', '--ledger', file, '--since', '2026-11-20', '--until', '2026-11-20', '--json'])).stdout);
    expect(window.map((r: { day: string }) => r.day)).toEqual(['2026-11-20']);
    const anthropic = JSON.parse((await runCli(['report', '--ledger', file, '--provider', 'anthropic', '--by', 'command', '--json'])).stdout);
    expect(anthropic).toEqual([expect.objectContaining({ command: 'stream', requests: 1 })]);
    const one = JSON.parse((await runCli(['report', '--ledger', file, '--model', 'gpt-4o', '--json'])).stdout);
    expect(one).toHaveLength(1);
    const csv = (await runCli(['report', '--ledger', file, '--csv'])).stdout.trim().split('\n');
    expect(csv[0]).toMatch(/^day,requests,ok,failed,/);
    expect(csv).toHaveLength(4);
  });

  it('a torn last line is a warning, not a failure; bad options are exit 2', async () => {
    const file = seedLedger();
    appendFileSync(file, '{"time":"2026-11-23T1');
    const r = await runCli(['report', '--ledger', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(3);
    expect(r.stderr).toMatch(/warning: skipped a torn last line \(5\)/);
    for (const args of [['report', '--by', 'week'], ['report', '--since', 'yesterday'], ['report', '--json', '--csv']]) {
      const bad = await runCli([...args, '--ledger', file]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('a missing ledger says so on stderr and reports nothing', async () => {
    const r = await runCli(['report', '--ledger', join(dir, 'none.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/no ledger yet at/);
  });
});

describe('llm-usage count', () => {
  it('counts exactly as tiktoken: the seeds\' 11 (chat) and 4 (legacy prompt)', async () => {
    const chat = await runCli(['count', '--chat', '-m', 'gpt-3.5-turbo-0125', '--json'], { input: '[{"role":"user","content":"Tell me a joke"}]' });
    expect(chat.code).toBe(0);
    expect(JSON.parse(chat.stdout)).toMatchObject({ model: 'gpt-3.5-turbo-0125', encoding: 'cl100k_base', tokens: 11 });
    expect(JSON.parse(chat.stdout).cost_usd).toBeCloseTo(0.0000055, 15);
    const hello = await runCli(['count', '--chat', '-m', 'gpt-3.5-turbo-0125', '--json', '[{"role":"user","content":"hello"}]']);
    expect(JSON.parse(hello.stdout).tokens).toBe(8);
    const mini = await runCli(['count', '--chat', '-m', 'gpt-4o-mini', '--json', '[{"role":"user","content":"Tell me a joke."}]']);
    expect(JSON.parse(mini.stdout)).toMatchObject({ encoding: 'o200k_base', tokens: 12 });
    const legacy = await runCli(['count', '-m', 'gpt-3.5-turbo-instruct', 'Tell', 'me', 'a', 'joke']);
    expect(legacy.code).toBe(0);
    expect(legacy.stdout).toMatch(/^4 tokens for gpt-3\.5-turbo-instruct, counted with tiktoken cl100k_base\.$/m);
    expect(legacy.stdout).toMatch(/Input cost: \$0\.000006 at \$1\.50 \/ 1M/);
  });

  it('counts files and stdin, says when it is an approximation, and rejects bad input', async () => {
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    writeFileSync(a, 'hello world');
    writeFileSync(b, 'hello world hello world');
    const files = JSON.parse((await runCli(['count', '-f', a, '--file', b, '--json'])).stdout);
    expect(files.inputs.map((i: { tokens: number }) => i.tokens)).toEqual([2, 4]);
    expect(files.tokens).toBe(6);
    const piped = JSON.parse((await runCli(['count', '--json'], { input: 'hello world' })).stdout);
    expect(piped).toMatchObject({ tokens: 2, inputs: [{ source: 'stdin' }] });
    const claude = await runCli(['count', '-m', 'claude-3-5-sonnet-20241022', 'hello world']);
    expect(claude.stdout).toMatch(/an approximation/);
    // Neither priced nor known to tiktoken: a count with a default encoding would be a guess.
    const unknown = await runCli(['count', '-m', 'my-model', '--json', 'hi']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^llm-usage: unknown model "my-model"/);
    // Known to tiktoken but not priced: counted, with no cost.
    const unpriced = JSON.parse((await runCli(['count', '-m', 'gpt2', '--json', 'hi'])).stdout);
    expect(unpriced).toMatchObject({ encoding: 'r50k_base', cost_usd: null });
    for (const [args, input] of [[['count', '--chat', 'not json'], undefined], [['count', '-f', join(dir, 'missing.txt')], undefined], [['count', '--chat', '[{"role": 1}]'], undefined]] as const) {
      const r = await runCli([...args], { input });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('spending limits before sending', () => {
  it('--max-cost refuses with the estimate, exit 2, sending nothing; within the limit it sends', async () => {
    const over = await runCli(['run', '-m', 'gpt-4o', '--max-tokens', '1000', '--max-cost', '0.001', 'Summarise the news'], { env: env() });
    expect(over.code).toBe(2);
    expect(over.stdout).toBe('');
    // gpt-4o: 12 prompt tokens at $2.50/1M + 1000 output tokens at $10/1M = $0.01003
    expect(over.stderr).toBe('llm-usage: worst case $0.01003 (12 prompt + 1000 output tokens) exceeds --max-cost $0.001; nothing was sent (lower --max-tokens, or see --dry-run)\n');
    expect(fake.requests).toHaveLength(0);

    const within = await runCli(['run', '-m', 'gpt-4o', '--max-tokens', '1000', '--max-cost', '0.02', 'Summarise the news'], { env: env() });
    expect(within.code).toBe(0);
    expect(fake.requests).toHaveLength(1);
  });

  it('without --max-tokens the context window bounds the output; an unknown price cannot be bounded', async () => {
    const wide = await runCli(['stream', '-m', 'gpt-4o', '--max-cost', '0.5', 'hi'], { env: env() });
    expect(wide.code).toBe(2);
    expect(wide.stderr).toMatch(/exceeds --max-cost \$0\.50/);
    const unknown = await runCli(['run', '-m', 'my-model', '--max-cost', '1', 'hi'], { env: env() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/cannot bound the cost \(no price for model "my-model"\); nothing was sent/);
    expect(fake.requests).toHaveLength(0);
  });

  it('--dry-run prints the worst case, table or JSON, and sends nothing, even without a key', async () => {
    const table = await runCli(['run', '-m', 'claude-3-5-sonnet-20241022', '--repeat', '2', '--dry-run', 'hi'], { env: env({ ANTHROPIC_API_KEY: undefined }) });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/│\s+1 │ anthropic\/claude-3-5-sonnet │\s+\d+ │\s+1,024 │ max_tokens 1024 \(the default sent\) │/);
    expect(table.stdout).toMatch(/Worst case in all: \$0\.03\d+\. Nothing was sent\./);
    const json = JSON.parse((await runCli(['run', '-m', 'gpt-4o-mini', '--max-tokens', '100', '-n', '2', '--max-cost', '1', '--dry-run', '--json', 'hi'], { env: env() })).stdout);
    expect(json.calls[0]).toMatchObject({ model: 'gpt-4o-mini', max_output_tokens: 200, output_bound: '--max-tokens' });
    expect(json).toMatchObject({ max_cost_usd: 1, within_limit: true });
    expect(fake.requests).toHaveLength(0);
  });
});
