// Honest counts and dates, through the built CLI: report days in the user's time zone, costs
// without float noise wherever they are printed or stored, and token counts that say when they
// are approximate.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import o200kRanks from 'js-tiktoken/ranks/o200k_base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';

let fake: FakeProvider;
let dir: string;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  dir = mkdtempSync(join(tmpdir(), 'llm-usage-honest-'));
});
const env = (extra: Record<string, string> = {}) => ({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: fake.url, ...extra });

function ledgerOf(entries: { time: string; cost: number | null }[]): string {
  const file = join(dir, 'ledger.jsonl');
  const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15, input_token_details: { cache_read: 0, cache_creation: 0 }, output_token_details: { reasoning: 0 } };
  writeFileSync(
    file,
    entries
      .map((e, i) =>
        JSON.stringify({ time: e.time, command: 'run', run_id: `r${i}`, provider: 'openai', api: 'chat', model: 'gpt-4o', priced_as: 'openai/gpt-4o', usage, usage_source: 'reported', cost_usd: e.cost, ok: true, error_kind: null, status: null, duration_ms: 1 }),
      )
      .join('\n') + '\n',
  );
  return file;
}

/** The calendar day of an instant in a time zone, by Intl: independent of how report computes it. */
const dayIn = (zone: string, time: string) => new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(time));

/** What report --json should say per day: requests per calendar day in `zone`, days ascending. */
function expectedDays(zone: string, times: string[]): { day: string; requests: number }[] {
  const days = new Map<string, number>();
  for (const t of times) days.set(dayIn(zone, t), (days.get(dayIn(zone, t)) ?? 0) + 1);
  return [...days.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([day, requests]) => ({ day, requests }));
}

const rowsOf = (stdout: string) => (JSON.parse(stdout) as { day: string; requests: number }[]).map(({ day, requests }) => ({ day, requests }));

describe('report days follow the time zone', () => {
  // One written with an offset (an instant on Nov 19 in UTC), the others around midnights.
  const times = ['2026-11-20T01:00:00+05:00', '2026-11-19T23:30:00.000Z', '2026-11-20T12:00:00.000Z', '2026-11-20T23:30:00.000Z', '2026-11-21T06:00:00.000Z'];

  it.each(['UTC', 'America/Los_Angeles', 'Asia/Kolkata'])('TZ=%s groups by that zone\'s days; --utc by UTC days', async (zone) => {
    const file = ledgerOf(times.map((time) => ({ time, cost: 0.01 })));
    const local = await runCli(['report', '--ledger', file, '--json'], { env: { TZ: zone } });
    expect(local.code).toBe(0);
    expect(rowsOf(local.stdout)).toEqual(expectedDays(zone, times));
    const utc = await runCli(['report', '--ledger', file, '--json', '--utc'], { env: { TZ: zone } });
    expect(rowsOf(utc.stdout)).toEqual(expectedDays('UTC', times));
    const table = await runCli(['report', '--ledger', file, '--no-chart'], { env: { TZ: zone } });
    expect(table.stdout).toContain(`│ Day (${zone})`);
  });

  it('the three zones really disagree on these entries (or the test above proves nothing)', () => {
    const groupings = ['UTC', 'America/Los_Angeles', 'Asia/Kolkata'].map((z) => JSON.stringify(expectedDays(z, times)));
    expect(new Set(groupings).size).toBe(3);
  });

  it('--since/--until dates are that zone\'s days; an offset-less time is local; --until with a time includes that instant', async () => {
    const file = ledgerOf(times.map((time) => ({ time, cost: 0.01 })));
    const zone = 'Asia/Kolkata';
    const count = async (...args: string[]) => {
      const r = await runCli(['report', '--ledger', file, '--json', ...args], { env: { TZ: zone } });
      expect(r.code, r.stderr).toBe(0);
      return rowsOf(r.stdout).reduce((n, row) => n + row.requests, 0);
    };
    const onNov20 = times.filter((t) => dayIn(zone, t) === '2026-11-20').length;
    expect(await count('--since', '2026-11-20', '--until', '2026-11-20')).toBe(onNov20);
    const instant = (t: string) => new Date(t).getTime();
    const upTo = (t: string) => times.filter((x) => instant(x) <= instant(t)).length;
    // 17:30 in Kolkata is 12:00 UTC, the instant of the third entry: included.
    expect(await count('--until', '2026-11-20T17:30')).toBe(upTo('2026-11-20T12:00:00Z'));
    expect(await count('--until', '2026-11-20T12:00:00Z')).toBe(upTo('2026-11-20T12:00:00Z'));
    expect(await count('--until', '2026-11-20T11:59:59.999Z')).toBe(upTo('2026-11-20T12:00:00Z') - 1);
    // With --utc, the same offset-less time is 17:30 UTC.
    const utc = await runCli(['report', '--ledger', file, '--json', '--utc', '--until', '2026-11-20T17:30'], { env: { TZ: zone } });
    expect(rowsOf(utc.stdout).reduce((n, r) => n + r.requests, 0)).toBe(upTo('2026-11-20T17:30:00Z'));
  });
});

/** Every cost-like number in a JSON text, as written. */
function costsIn(text: string): string[] {
  return [...text.matchAll(/"(?:cost_usd|usd|total_cost_usd|known_cost_usd|cost_known_usd|total_usd)":\s*(-?[\d.e+-]+)/g)].map((m) => m[1] as string);
}
const significantDigits = (written: string) => written.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').length;

describe('no float noise where a cost is printed or stored', () => {
  it('run --json and its ledger line: gpt-4o-mini at 11 + 16 tokens is 0.00001125, not 0.000011249999999999999', async () => {
    const price = JSON.parse((await runCli(['price', '-m', 'gpt-4o-mini', '--json'])).stdout);
    const naive = (11 * price.prices_per_million.input) / 1e6 + (16 * price.prices_per_million.output) / 1e6;
    const exact = Number(naive.toPrecision(12));
    expect(naive).not.toBe(exact); // the float noise this test is about

    const ledger = join(dir, 'run.jsonl');
    const r = await runCli(['run', '-m', 'gpt-4o-mini', '--json', '--ledger', ledger, 'Tell me a joke'], { env: env() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).calls[0].cost_usd).toBe(exact);
    const stored = readFileSync(ledger, 'utf8');
    expect(JSON.parse(stored).cost_usd).toBe(exact);
    for (const text of [r.stdout, stored]) for (const c of costsIn(text)) expect(significantDigits(c), c).toBeLessThanOrEqual(12);

    const quoted = await runCli(['price', '-m', 'gpt-4o-mini', '-i', '11', '-o', '16', '--json']);
    expect(JSON.parse(quoted.stdout).cost_usd).toBe(exact);
    expect(costsIn(quoted.stdout).length).toBeGreaterThan(2);
    for (const c of costsIn(quoted.stdout)) expect(significantDigits(c), c).toBeLessThanOrEqual(12);
  });

  it('report --json and --csv sum without noise: 0.1 + 0.2 is 0.3', async () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    const file = ledgerOf([
      { time: '2026-11-20T10:00:00.000Z', cost: 0.1 },
      { time: '2026-11-20T11:00:00.000Z', cost: 0.2 },
    ]);
    const json = await runCli(['report', '--ledger', file, '--json']);
    expect(JSON.parse(json.stdout)[0].cost_usd).toBe(0.3);
    const csv = await runCli(['report', '--ledger', file, '--csv']);
    expect(csv.stdout.split('\n')[1]?.split(',')[9]).toBe('0.3');
  });
});

describe('counts say when they are approximate, naming the encoding', () => {
  const enc = new Tiktoken(o200kRanks);
  const n = (text: string) => enc.encode(text, [], []).length;

  it('count: Gemini is o200k_base, approximate; gpt-oss is o200k_harmony, exact; gpt-4o is exact', async () => {
    const gemini = await runCli(['count', '-m', 'gemini-1.5-pro', 'hello world']);
    expect(gemini.stdout).toMatch(/counted with tiktoken o200k_base \(an approximation: gemini-1\.5-pro is not an OpenAI model tiktoken knows; o200k_base stands in for its own tokenizer\)\./);
    // Priced models only: count refuses a name neither the price table nor tiktoken knows.
    for (const model of ['llama-3.3-70b', 'mistral-large-latest', 'deepseek-chat', 'grok-2']) {
      expect(JSON.parse((await runCli(['count', '-m', model, '--json', 'hello world'])).stdout), model).toMatchObject({ encoding: 'o200k_base', approximate: true, tokens: n('hello world') });
    }
    expect(JSON.parse((await runCli(['count', '-m', 'gpt-oss-120b', '--json', 'hello world'])).stdout)).toMatchObject({ encoding: 'o200k_harmony', approximate: false, tokens: n('hello world') });
    expect(JSON.parse((await runCli(['count', '-m', 'gpt-4o', '--json', 'hello world'])).stdout)).toMatchObject({ encoding: 'o200k_base', approximate: false, approximations: [] });
  });

  it('count --chat takes every message shape, counted by the cookbook formula (computed here) and marked where approximate', async () => {
    const args = '{"city":"Paris"}';
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', name: 'ann', content: [{ type: 'text', text: 'Weather in ' }, { type: 'text', text: 'Paris?' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: args } }] },
      { role: 'tool', tool_call_id: 'call_abc123', content: '18C and sunny' },
    ];
    const expected =
      3 +
      (3 + n('system') + n('Be brief.')) +
      (3 + n('user') + 1 + n('ann') + n('Weather in Paris?')) +
      (3 + n('assistant') + 3 + n('get_weather') + n(args)) +
      (3 + n('tool') + n('call_abc123') + n('18C and sunny'));
    const r = await runCli(['count', '--chat', '-m', 'gpt-4o', '--json'], { input: JSON.stringify(messages) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tokens: expected, approximate: true, approximations: [expect.stringMatching(/^tool calls are counted/)] });

    // Text only: the formula is exact, and so is the output's claim.
    const plain = JSON.parse((await runCli(['count', '--chat', '-m', 'gpt-4o', '--json', JSON.stringify([messages[0], messages[3]])])).stdout);
    expect(plain).toMatchObject({ tokens: 3 + 3 + n('system') + n('Be brief.') + 3 + n('tool') + n('call_abc123') + n('18C and sunny'), approximate: false });

    const bad = await runCli(['count', '--chat', JSON.stringify([{ role: 'user', content: [{ text: 'no type' }] }])]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^llm-usage: --chat: message 1 in text has a "content" that is not a string, null, or an array of parts/);
  });

  it('the fallback estimate and the worst case mark a non-OpenAI model as approximate', async () => {
    const r = await runCli(['stream', '-m', 'llama-3.1-70b', '--json', 'Tell me a joke'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ usage_source: 'estimated', estimate: { encoding: 'o200k_base', approximation: true } });
    const table = await runCli(['stream', '-m', 'llama-3.1-70b', 'Tell me a joke'], { env: env() });
    expect(table.stderr).toMatch(/\* estimated with tiktoken o200k_base: .*an approximation for llama-3\.1-70b/);
    const exact = JSON.parse((await runCli(['stream', '-m', 'gpt-4o', '--json', 'Tell me a joke'], { env: env() })).stdout).calls[0];
    expect(exact.estimate).toMatchObject({ encoding: 'o200k_base', approximation: false });

    const dry = await runCli(['run', '-m', 'gemini-1.5-pro', '--max-tokens', '10', '--dry-run', '--json', 'hi'], { env: env() });
    expect(JSON.parse(dry.stdout).calls[0]).toMatchObject({ encoding: 'o200k_base', approximation: expect.stringContaining('gemini-1.5-pro is not an OpenAI model') });
    const dryTable = await runCli(['run', '-m', 'gpt-oss-120b', '--max-tokens', '10', '--dry-run', 'hi'], { env: env() });
    expect(dryTable.stdout).toMatch(/^Prompts counted with tiktoken o200k_harmony\.$/m);
  });
});
