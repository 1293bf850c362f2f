import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryOf, ledgerPath, LedgerWriter, scanLedger, type LedgerEntry } from '../src/ledger.js';
import { failureLine, priceOf, type CallRecord } from '../src/record.js';
import { loadPriceTable } from '../src/pricing/table.js';
import { costChart, reportCsv } from '../src/render/report.js';
import { ReportBuilder, timeBound } from '../src/report.js';
import { REFUSED } from '../src/proxy/provider-errors.js';
import { SessionCalls } from '../src/proxy/report.js';
import { KeptNames, MODEL_NAME_LENGTH_KEPT, MODELS_KEPT, OTHER_MODELS, summaryJson, TallyBuilder, tallyOf } from '../src/tally.js';
import { shownName } from '../src/render/format.js';
import { renderCallLine } from '../src/render/proxy.js';
import { renderSummary } from '../src/render/summary.js';
import { makeUsage } from '../src/usage.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-usage-ledger-'));

function record(over: Partial<CallRecord> = {}): CallRecord {
  return {
    provider: 'openai',
    api: 'chat',
    model: 'gpt-4o-mini',
    requested_model: 'gpt-4o-mini',
    stream: false,
    ok: true,
    error: null,
    error_kind: null,
    status: null,
    text: 'the reply',
    usage: makeUsage({ input: 11, output: 16 }),
    usage_source: 'reported',
    estimate: null,
    cost_usd: 0.0000295,
    priced_as: 'openai/gpt-4o-mini',
    cost_note: null,
    request_id: 'req_1',
    duration_ms: 12,
    ...over,
  };
}

function entry(time: string, over: Partial<LedgerEntry> = {}): LedgerEntry {
  return { ...entryOf(record(), { command: 'run', runId: 'r1', time: new Date(time) }), ...over };
}

describe('ledger entries', () => {
  it('hold no prompt or reply unless --log-content', () => {
    const plain = entryOf(record(), { command: 'run', runId: 'r1', prompt: 'secret prompt' });
    expect(JSON.stringify(plain)).not.toContain('secret prompt');
    expect(JSON.stringify(plain)).not.toContain('the reply');
    expect(plain).toMatchObject({ command: 'run', run_id: 'r1', provider: 'openai', api: 'chat', model: 'gpt-4o-mini', usage_source: 'reported', cost_usd: 0.0000295, ok: true, error_kind: null, duration_ms: 12 });
    expect(plain.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const logged = entryOf(record(), { command: 'run', runId: 'r1', prompt: 'secret prompt', logContent: true });
    expect(logged).toMatchObject({ prompt: 'secret prompt', text: 'the reply' });
  });

  it('are written with their keys in one order, an optional one only when it has a value', () => {
    const keys = (e: LedgerEntry) => Object.keys(JSON.parse(JSON.stringify(e)));
    const base = ['time', 'command', 'run_id', 'provider', 'api', 'model', 'priced_as', 'usage', 'usage_source', 'cost_usd', 'ok', 'error_kind', 'status', 'duration_ms'];
    expect(keys(entryOf(record(), { command: 'proxy', runId: 'r1', prompt: 'p' }))).toEqual(base);
    const full = entryOf(record({ provider: 'azure', priced_by: 'deployment', service_tier: 'flex' }), { command: 'run', runId: 'r1', prompt: 'p', logContent: true, tags: { team: 'ml' } });
    expect(keys(full)).toEqual([...base.slice(0, 7), 'priced_by', ...base.slice(7, 10), 'service_tier', ...base.slice(10), 'tags', 'prompt', 'text']);
    expect(JSON.stringify(full)).toContain('"priced_by":"deployment","usage":');
    expect(keys(entryOf(record({ service_tier: null }), { command: 'run', runId: 'r1', tags: {} }))).toEqual(base);
  });

  it('live in --ledger, else LLM_USAGE_LEDGER, else the user data directory; --no-ledger is none', () => {
    expect(ledgerPath({ ledger: '/x/l.jsonl' }, { LLM_USAGE_LEDGER: '/y' })).toBe('/x/l.jsonl');
    expect(ledgerPath({}, { LLM_USAGE_LEDGER: '/y/l.jsonl' })).toBe('/y/l.jsonl');
    expect(ledgerPath({ ledger: false }, { LLM_USAGE_LEDGER: '/y' })).toBeNull();
    expect(ledgerPath({}, {})).toMatch(/llm-usage[/\\]ledger\.jsonl$/);
  });

  it.each([
    ['append', 'one write per line'],
    ['appendSoon', 'batched writes, bursts of 1 to 49 lines, the last batch left to the exit hook'],
  ])('survive concurrent writers: 4 processes x 500 entries lose and tear nothing (%s: %s)', async (method) => {
    const file = join(dir, `concurrent-${method}.jsonl`);
    const writer = `
      const { LedgerWriter, entryOf } = await import(${JSON.stringify(new URL('../dist/ledger.js', import.meta.url).href)});
      const w = new LedgerWriter(process.argv[1], (m) => { console.error(m); process.exit(3); });
      const long = 'x'.repeat(3000); // lines larger than a pipe buffer, so tearing would show
      const line = (i) => ({ time: new Date().toISOString(), command: 'run', run_id: process.argv[2] + ':' + i, usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 }, pad: long });
      let i = 0;
      for (let burst = 1; i < 500; burst = (burst * 7) % 50 || 1) {
        for (let k = 0; k < burst && i < 500; k++) w.${method}(line(i++));
        if (i < 500) await new Promise((r) => setImmediate(r));
      }
      process.exit(0); // before the last turn ends: what is pending is written on exit
    `;
    const codes = await Promise.all(
      [0, 1, 2, 3].map(
        (n) =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', writer, file, `w${n}`], { stdio: 'inherit' });
            child.on('close', resolve);
          }),
      ),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    // A writer that looks at the file's last byte while another's long write is still landing
    // starts a new line to be safe: an empty line, which the report skips. Never a torn one.
    const all = readFileSync(file, 'utf8').split('\n');
    expect(all.at(-1)).toBe('');
    const lines = all.filter((l) => l !== '');
    expect(lines).toHaveLength(2000);
    const ids = new Set(lines.map((l) => JSON.parse(l).run_id));
    expect(ids.size).toBe(2000);
  });

  it('appendSoon writes its lines soon by itself, and at once when 256 are waiting', async () => {
    const file = join(dir, 'soon.jsonl');
    const w = new LedgerWriter(file, (m) => expect.fail(m));
    const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);
    for (let i = 0; i < 3; i++) w.appendSoon(entry('2026-11-20T10:00:00Z'));
    expect(lines()).toBe(0);
    // No flush, no exit: its timer writes them.
    for (let waited = 0; lines() < 3 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    expect(lines()).toBe(3);
    for (let i = 0; i < 255; i++) w.appendSoon(entry('2026-11-20T10:00:00Z'));
    expect(lines()).toBe(3);
    w.appendSoon(entry('2026-11-20T10:00:00Z'));
    expect(lines()).toBe(3 + 256);
    w.close();
  });

  it('a ledger that may be appended to but not read still takes lines (the newline check needs reading)', () => {
    // Root reads any file, so the writer runs as nobody, on a file only writable to it.
    const sub = mkdtempSync(join(tmpdir(), 'llm-usage-write-only-'));
    chmodSync(sub, 0o755);
    const file = join(sub, 'ledger.jsonl');
    writeFileSync(file, JSON.stringify(entry('2026-11-20T10:00:00Z')) + '\n');
    chownSync(file, 65534, 65534);
    chmodSync(file, 0o200);
    const script = `
      const { LedgerWriter } = await import(${JSON.stringify(new URL('../dist/ledger.js', import.meta.url).href)});
      const w = new LedgerWriter(process.argv[1], (m) => { console.error(m); process.exit(3); });
      w.append({ time: '2026-11-21T10:00:00.000Z', usage: {} });
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], { uid: 65534, gid: 65534, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).time)).toEqual(['2026-11-20T10:00:00.000Z', '2026-11-21T10:00:00.000Z']);
  });

  it('a torn last line is skipped and reported, never fatal; a bad middle line too', async () => {
    const file = join(dir, 'torn.jsonl');
    writeFileSync(file, [JSON.stringify(entry('2026-11-20T10:00:00Z')), 'not json', JSON.stringify(entry('2026-11-21T10:00:00Z'))].join('\n') + '\n');
    appendFileSync(file, JSON.stringify(entry('2026-11-22T10:00:00Z')).slice(0, 40));
    const seen: string[] = [];
    const skipped: [number, boolean][] = [];
    await scanLedger(file, (e) => seen.push(e.time), (n, torn) => skipped.push([n, torn]));
    expect(seen).toEqual(['2026-11-20T10:00:00.000Z', '2026-11-21T10:00:00.000Z']);
    expect(skipped).toEqual([[2, false], [4, true]]);
  });
});

describe('report aggregation', () => {
  const entries = [
    entry('2026-11-20T10:00:00Z'),
    entry('2026-11-20T23:59:59Z', { model: 'gpt-4o', priced_as: 'openai/gpt-4o', cost_usd: 0.5, usage: makeUsage({ input: 1000, output: 100, cacheRead: 400, reasoning: 30 }) }),
    entry('2026-11-21T00:00:00Z', { provider: 'anthropic', model: 'claude-3-haiku-20240307', command: 'stream', cost_usd: null, usage_source: 'estimated', ok: false, error_kind: 'stream-cut' }),
  ];
  const build = (q: Partial<ConstructorParameters<typeof ReportBuilder>[0]>) => {
    const b = new ReportBuilder({ by: 'day', ...q });
    for (const e of entries) b.add(e);
    return b.result();
  };

  it('groups by UTC day with a total; shares of estimated and unpriced requests', () => {
    const { rows, total } = build({});
    expect(rows.map((r) => [r.key, r.requests])).toEqual([
      ['2026-11-20', 2],
      ['2026-11-21', 1],
    ]);
    expect(rows[0]).toMatchObject({ input_tokens: 1011, cached_tokens: 400, output_tokens: 116, reasoning_tokens: 30, total_tokens: 1127 });
    expect(rows[0]?.cost_usd).toBeCloseTo(0.5000295, 12);
    expect(rows[1]).toMatchObject({ failed: 1, ok: 0, unpriced_requests: 1, estimated_share: 1, unpriced_share: 1, cost_usd: 0 });
    expect(total).toMatchObject({ requests: 3, ok: 2, failed: 1 });
    expect(total.unpriced_share).toBeCloseTo(1 / 3, 12);
  });

  it('groups by model, provider and command, and filters by model, provider and time', () => {
    expect(build({ by: 'model' }).rows.map((r) => r.key)).toEqual(['gpt-4o', 'gpt-4o-mini', 'claude-3-haiku-20240307']);
    expect(build({ by: 'provider' }).rows.map((r) => [r.key, r.requests])).toEqual([
      ['openai', 2],
      ['anthropic', 1],
    ]);
    expect(build({ by: 'command' }).rows.map((r) => r.key).sort()).toEqual(['run', 'stream']);
    expect(build({ model: 'GPT-4O' }).total.requests).toBe(1);
    expect(build({ provider: 'anthropic' }).total.requests).toBe(1);
    // Both bounds are inclusive: the entry at exactly --until counts.
    expect(build({ since: '2026-11-20T12:00:00.000Z', until: '2026-11-21T00:00:00.000Z' }).total.requests).toBe(2);
    expect(build({ since: '2026-11-20T12:00:00.000Z', until: '2026-11-20T23:59:59.999Z' }).total.requests).toBe(1);
  });

  it('reads a ledger time with an offset as the instant it names; a time that is no time is counted, not grouped', () => {
    const b = new ReportBuilder({ by: 'day', utc: true, until: '2026-11-19T20:00:00.000Z' });
    b.add(entry('2026-11-19T10:00:00Z'));
    b.add({ ...entry('2026-11-19T10:00:00Z'), time: '2026-11-20T01:00:00+05:00' });
    b.add({ ...entry('2026-11-19T10:00:00Z'), time: '2026-11-20T01:00:01+05:00' }); // after --until
    b.add({ ...entry('2026-11-19T10:00:00Z'), time: 'yesterday' });
    expect(b.result().rows.map((r) => [r.key, r.requests])).toEqual([['2026-11-19', 2]]);
    expect(b.badTimes).toBe(1);
  });

  it('reads --since/--until as dates, times or ages', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    expect(timeBound('7d', now)).toBe('2026-11-16T12:00:00.000Z');
    expect(timeBound('24h', now)).toBe('2026-11-22T12:00:00.000Z');
    expect(timeBound('30m', now)).toBe('2026-11-23T11:30:00.000Z');
    expect(timeBound('2026-11-01', now, false, true)).toBe('2026-11-01T00:00:00.000Z');
    // --until DATE includes the whole day: up to its last millisecond.
    expect(timeBound('2026-11-01', now, true, true)).toBe('2026-11-01T23:59:59.999Z');
    expect(timeBound('2026-11-01T08:00:00+02:00')).toBe('2026-11-01T06:00:00.000Z');
    expect(timeBound('2026-11-01T08:00-0530', now, true)).toBe('2026-11-01T13:30:00.000Z');
    expect(timeBound('2026-11-01 08:00:00.25', now, true, true)).toBe('2026-11-01T08:00:00.250Z');
    expect(timeBound('last tuesday')).toBeNull();
    expect(timeBound('2026-13-45')).toBeNull();
    expect(timeBound('2026-02-30')).toBeNull();
    expect(timeBound('2026-11-01T24:00')).toBeNull();
  });

  it('refuses bounds that Date would bend: rolled-over days, hour 24, ages before any date', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    // --until a date runs to its last millisecond (bounds are inclusive).
    expect(timeBound('2026-02-28', now, true, true)).toBe('2026-02-28T23:59:59.999Z');
    expect(timeBound('2028-02-29', now, false, true)).toBe('2028-02-29T00:00:00.000Z');
    expect(timeBound('2026-02-29')).toBeNull();
    expect(timeBound('2026-02-30')).toBeNull();
    expect(timeBound('2026-04-31T10:00:00Z')).toBeNull();
    expect(timeBound('2026-01-01T24:00')).toBeNull();
    expect(timeBound('2026-01-01T23:59:60Z')).toBeNull();
    expect(timeBound('2026-01-01T1')).toBeNull();
    expect(timeBound('2026-01-01T23:59:59Z')).toBe('2026-01-01T23:59:59.000Z');
    expect(timeBound('99999999999d', now)).toBeNull();
    expect(timeBound('100000w', now)).toBe(new Date(now.getTime() - 100000 * 604_800_000).toISOString());
  });

  it('skips ledger lines that are JSON but not entries, rather than failing on them', async () => {
    const file = join(dir, 'odd.jsonl');
    const good = JSON.stringify(entryOf(record(), { command: 'run', runId: 'r', time: new Date('2026-11-20T00:00:00Z') }));
    writeFileSync(
      file,
      [good, '{"time": "2026-11-20T01:00:00Z", "usage": {}}', '{"time": "2026-11-20T02:00:00Z", "model": 5, "provider": "openai", "command": "run", "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}, "cost_usd": null}', '[1, 2]', 'null', good].join('\n') + '\n',
    );
    const seen: LedgerEntry[] = [];
    const skipped: number[] = [];
    await scanLedger(file, (e) => seen.push(e), (line) => skipped.push(line));
    expect(seen).toHaveLength(2);
    expect(skipped).toEqual([2, 3, 4, 5]);
    const builder = new ReportBuilder({ by: 'model', model: 'gpt-4o' });
    for (const e of seen) builder.add(e);
    expect(builder.result().total.requests).toBe(seen.filter((e) => e.model === 'gpt-4o').length);
  });

  it('renders CSV with quoting and a bar chart scaled to the largest cost', () => {
    const { rows } = build({ by: 'model' });
    const csv = reportCsv([{ ...rows[0]!, key: 'a,"b"' }], 'model').split('\n');
    expect(csv[0]).toBe('model,requests,ok,failed,input_tokens,cached_tokens,output_tokens,reasoning_tokens,total_tokens,cost_usd,estimated_share,unpriced_share');
    expect(csv[1]).toMatch(/^"a,""b""",1,1,0,1000,400,100,30,1100,0.5,0,0$/);
    const chart = costChart(rows, false, 20).split('\n');
    expect(chart[0]).toMatch(/^gpt-4o\s+█{20} \$0\.50$/);
    expect(chart[2]).toMatch(/^claude-3-haiku-20240307\s+ {20} \$0\.00$/);
  });
});

describe('the --json tally', () => {
  it('prints sums of many costs without float noise, and keeps null for unknown', () => {
    const calls = Array.from({ length: 7500 }, () => record({ cost_usd: 0.0000728 }));
    const naive = calls.reduce((s, c) => s + (c.cost_usd ?? 0), 0);
    // The float sum drifts (that is what is being fixed); the printed one is exact.
    expect(naive).not.toBe(0.546);
    const j = summaryJson(calls);
    expect(j.total_cost_usd).toBe(0.546);
    expect(j.known_cost_usd).toBe(0.546);
    expect((j.by_model as { cost_usd: number }[])[0]?.cost_usd).toBe(0.546);
    expect(summaryJson([record(), record({ cost_usd: null })]).total_cost_usd).toBeNull();
  });
});

describe('an exec or proxy session', () => {
  const mix = (i: number): CallRecord =>
    i % 5 === 0
      ? record({ ok: false, error: `openai gpt-4o-mini: failure ${i}`, error_kind: 'http', usage: makeUsage({ input: 0, output: 0 }), usage_source: 'none', cost_usd: 0 })
      : i % 7 === 0
        ? record({ ok: false, error: `openai gpt-4o-mini: ${REFUSED}: --max-cost $1 reached; not sent`, usage: makeUsage({ input: 0, output: 0 }), usage_source: 'none', cost_usd: 0 })
        : i % 3 === 0
          ? record({ model: 'claude-x', priced_as: null, cost_usd: null, cost_note: 'claude-x has no price', usage_source: 'estimated', estimate: { encoding: 'cl100k_base', parts: ['output'], approximation: true } })
          : record({ usage: makeUsage({ input: i, output: 2 * i }), cost_usd: i / 1e6 });

  it('keeps a running tally equal to the tally of every call, and only the first failures by name', () => {
    const all = Array.from({ length: 200 }, (_, i) => mix(i));
    const lean = new SessionCalls(false);
    const full = new SessionCalls(true);
    for (const r of all) {
      lean.add(r);
      full.add(r);
    }
    expect(lean.tally()).toEqual(tallyOf(all));
    expect(lean.records).toBeNull();
    expect(full.records).toEqual(all);
    expect(lean.count).toBe(200);
    const failures = all.filter((r) => !r.ok && !r.error?.includes(REFUSED));
    expect(lean.failedCount).toBe(failures.length);
    expect(lean.failures).toEqual(failures.slice(0, 10).map((r) => r.error));
    // A tally taken mid-way is not changed by what is added after it.
    const early = new SessionCalls(false);
    early.add(all[1] as CallRecord);
    const snapshot = early.tally();
    early.add(all[2] as CallRecord);
    expect(snapshot.by_model[0]?.requests).toBe(1);
  });
});

describe('a session keeps a bounded number of model names apart (a proxy meters whatever names clients send)', () => {
  const call = (name: string, over: Partial<CallRecord> = {}): CallRecord => record({ model: name, requested_model: name, priced_as: null, cost_usd: null, cost_note: `no price for model "${name}"`, ...over });

  it('counts the calls past the kept names in one row, last, with the totals exact and no note of their own', () => {
    const long = 'm'.repeat(MODEL_NAME_LENGTH_KEPT + 1);
    const calls = [
      record(),
      call('a'),
      call('b', { usage_source: 'estimated', estimate: { encoding: 'cl100k_base', parts: ['output'], approximation: true } }),
      call('c'), // the fourth name: past a limit of 3
      call('d', { usage_source: 'estimated', estimate: { encoding: 'cl100k_base', parts: ['output'], approximation: true } }),
      call('a'), // kept: still its own row
      call(long), // too long to keep, though names are left for nothing else
      record({ usage: makeUsage({ input: 100, output: 200 }), cost_usd: 0.001 }),
    ];
    const builder = new TallyBuilder(new KeptNames(3));
    for (const c of calls) builder.add(c);
    const t = builder.tally();
    const all = tallyOf(calls);
    // Every total is what it is without the limit; only the rows and notes differ.
    for (const k of ['total_tokens', 'prompt_tokens', 'completion_tokens', 'successful_requests', 'failed_requests', 'known_cost_usd', 'total_cost_usd', 'cost_complete', 'approximate'] as const) expect(t[k]).toEqual(all[k]);
    expect(t.by_model.map((m) => [m.model, m.requests])).toEqual([
      ['gpt-4o-mini', 2],
      ['a', 2],
      ['b', 1],
      [OTHER_MODELS, 3],
    ]);
    expect(t.by_model.at(-1)).toMatchObject({ priced_as: null, prompt_tokens: 33, completion_tokens: 48, cost_usd: null });
    expect(t.other_models_after).toBe(3);
    expect(all.other_models_after).toBeUndefined();
    expect(t.unpriced).toEqual(['no price for model "a"', 'no price for model "b"', `no price for some of the models counted as ${OTHER_MODELS}`]);
    expect(t.approximated).toEqual(['b', OTHER_MODELS]);
    expect(summaryJson([], t)).toMatchObject({ other_models_after: 3 });
    expect(summaryJson([], all)).not.toHaveProperty('other_models_after');
    const text = renderSummary(t, false);
    expect(text).toMatch(/│ \(other models\) +│ +3 │/);
    expect(text).toContain(`(other models): calls naming a model past the first 3 names (or a name over ${MODEL_NAME_LENGTH_KEPT} characters) are counted together`);
    expect(text).not.toContain('"c"');
    expect(text).not.toContain(long);
  });

  it('the sessions of exec and proxy keep the first MODELS_KEPT names, per provider', () => {
    const session = new SessionCalls(false);
    for (let i = 0; i < MODELS_KEPT; i++) session.add(call(`model-${i}`));
    session.add(call('gpt-4o-mini', { provider: 'anthropic' }));
    session.add(call('model-0', { provider: 'azure' }));
    session.add(call('model-1'));
    const t = session.tally();
    expect(t.by_model).toHaveLength(MODELS_KEPT + 1);
    expect(t.by_model.at(-1)).toMatchObject({ model: OTHER_MODELS, requests: 2 });
    expect(t.by_model[1]).toMatchObject({ model: 'model-1', requests: 2 });
    expect(t.unpriced).toHaveLength(MODELS_KEPT + 1);
  });

  it('a line shows a long model name by its start and length, and a failure by at most 500 characters of its message, the key taken out before the cut', () => {
    expect(shownName('x'.repeat(MODEL_NAME_LENGTH_KEPT))).toBe('x'.repeat(MODEL_NAME_LENGTH_KEPT));
    const long = `m${'x'.repeat(99_999)}`;
    expect(shownName(long)).toBe(`m${'x'.repeat(63)}… (100,000 characters)`);

    // A proxied upstream echoes the name (OpenAI's 404 does), and a key, which the cut would halve.
    const key = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
    const message = `${'word '.repeat(98)}key: ${key} The model \`${long}\` does not exist`;
    expect(message.indexOf(key)).toBeLessThan(500);
    expect(message.indexOf(key) + key.length).toBeGreaterThan(500);
    const line = failureLine({ provider: 'openai', model: long, proxied: true, apiKey: key }, { kind: 'http', status: 404, type: 'invalid_request_error', message });
    expect(line.startsWith(`openai ${shownName(long)}: 404 invalid_request_error: word word `)).toBe(true);
    expect(line).toContain('(check the model name and --openai-upstream or OPENAI_BASE_URL)');
    expect(line.length).toBeLessThan(800);
    // Lengths and includes, not toContain: a failure here would print the 100,000 characters.
    expect(line.includes(key.slice(0, 8))).toBe(false);
    expect(line.includes('x'.repeat(64))).toBe(false);

    const unpriced = priceOf(makeUsage({ input: 11, output: 16 }), [long], 'openai', loadPriceTable());
    expect(unpriced.cost_usd).toBeNull();
    expect(unpriced.cost_note?.startsWith(`no price for model "${shownName(long)}" (add it with --pricing FILE`)).toBe(true);
    const t = tallyOf([call(long, { cost_note: unpriced.cost_note }), call('b')]);
    const text = renderSummary(t, false);
    expect(text.includes(`${shownName(long)} (no price)`)).toBe(true);
    expect(text.length).toBeLessThan(2_000);
    expect(renderCallLine(call(long), 1, 0, false)).toBe(`llm-usage: #1 openai ${shownName(long)} chat: 11 + 16 = 27 tokens, unknown (total $0.00)\n`);
  });
});
