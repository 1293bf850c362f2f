// A ledger on a nearly full disk: a real tmpfs, filled to within a few bytes, and real appends
// against it. CI runs as root; where mount is impossible this file fails, it never skips.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LedgerWriter, type LedgerEntry } from '../../src/ledger.js';
import { makeUsage } from '../../src/usage.js';
import { runCli } from '../support/cli.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';

const PLAIN = new URL('../support/clients/plain-http.mjs', import.meta.url).pathname;
const PAGE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
// 16 pages: tmpfs counts whole pages, so "nearly full" means every page taken and a few bytes
// left at the end of the ledger's last page.
const mountPoint = mkdtempSync(join(tmpdir(), 'llm-usage-full-disk-'));
let fake: FakeProvider;

beforeAll(async () => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${16 * PAGE}`, 'llm-usage-test', mountPoint]);
  fake = await startFakeProvider();
});
afterAll(async () => {
  await fake?.close();
  execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true });
});

let n = 0;
let ledger: string;
let filler: string;
beforeEach(() => {
  fake.reset();
  n++;
  ledger = join(mountPoint, `ledger-${n}.jsonl`);
  filler = join(mountPoint, 'filler');
  rmSync(filler, { force: true });
});

const env = () => ({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: fake.url });

/** A valid ledger line; `pad` makes it as long as a test needs. */
function line(i: number, pad = ''): string {
  const e: LedgerEntry & { pad: string } = {
    time: `2026-11-20T10:00:${String(i).padStart(2, '0')}.000Z`,
    command: 'run',
    run_id: `seed-${i}`,
    provider: 'openai',
    api: 'chat',
    model: 'gpt-4o-mini',
    priced_as: 'openai/gpt-4o-mini',
    usage: makeUsage({ input: 10, output: 5 }),
    usage_source: 'reported',
    cost_usd: 0.0000045,
    ok: true,
    error_kind: null,
    status: null,
    duration_ms: 1,
    pad,
  };
  return JSON.stringify(e) + '\n';
}

/** Good lines that end `free` bytes before a page boundary: the room left once the disk is full. */
function seedLedger(free: number): string {
  const head = line(1) + line(2);
  const short = line(3);
  const want = 2 * PAGE - free;
  const seed = head + line(3, 'x'.repeat(want - head.length - short.length));
  expect(Buffer.byteLength(seed)).toBe(want);
  writeFileSync(ledger, seed);
  return seed;
}

/** Takes every free page of the tmpfs, in whole pages, until the disk says ENOSPC. */
function fillDisk(): void {
  const fd = openSync(filler, 'w');
  const page = Buffer.alloc(PAGE, 'y');
  try {
    for (;;) writeSync(fd, page);
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
}

const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.includes('warning'));
const entries = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LedgerEntry);

async function reportRequests(file: string): Promise<{ requests: number; stderr: string }> {
  const r = await runCli(['report', '--ledger', file, '--by', 'command', '--json']);
  expect(r.code).toBe(0);
  const rows = JSON.parse(r.stdout) as { requests: number }[];
  return { requests: rows.reduce((s, row) => s + row.requests, 0), stderr: r.stderr };
}

describe('a ledger on a full disk', () => {
  it('run: a short write is cut back off and said in one line; the call is still reported; after space is freed the next line is intact', async () => {
    const seed = seedLedger(100);
    fillDisk();

    const full = await runCli(['run', '-m', 'gpt-3.5-turbo-0125', '--ledger', ledger, 'Tell me a joke'], { env: env() });
    expect(full.code).toBe(0);
    expect(full.stdout).toContain('scientists');
    expect(full.stderr).toMatch(/Successful Requests │\s+1 │/);
    const [warning, ...more] = warnings(full.stderr);
    expect(more).toEqual([]);
    const m = /^llm-usage: warning: the ledger (.*) is full: this call was not recorded \(wrote (\d+) of (\d+) bytes, cut the partial line back off\); free space there, or use --ledger FILE$/.exec(warning ?? '');
    expect(m, warning).not.toBeNull();
    expect(m?.[1]).toBe(ledger);
    expect(Number(m?.[2])).toBe(100);
    expect(Number(m?.[3])).toBeGreaterThan(100);
    // Cut back to where the line began: the file is the seed, byte for byte.
    expect(readFileSync(ledger, 'utf8')).toBe(seed);

    // Still full: each call of another command is cut back off the same way, one line each.
    const again = await runCli(['run', '--ledger', ledger, '--repeat', '2', 'hi'], { env: env() });
    expect(again.code).toBe(0);
    expect(warnings(again.stderr)).toEqual(Array(2).fill(expect.stringMatching(/is full: this call was not recorded \(wrote 100 of \d+ bytes, cut the partial line back off\); free space there/)));
    expect(statSync(ledger).size).toBe(seed.length);
    // A new ledger on the full disk has no page at all: ENOSPC outright, nothing written.
    const fresh = join(mountPoint, `fresh-${n}.jsonl`);
    const none = await runCli(['run', '--ledger', fresh, 'hi'], { env: env() });
    expect(none.code).toBe(0);
    expect(warnings(none.stderr)).toEqual([`llm-usage: warning: the ledger ${fresh} is full (ENOSPC): this call was not recorded (wrote nothing); free space there, or use --ledger FILE`]);
    expect(statSync(fresh).size).toBe(0);

    unlinkSync(filler);
    const freed = await runCli(['run', '-m', 'gpt-3.5-turbo-0125', '--ledger', ledger, 'Tell me a joke'], { env: env() });
    expect(freed.code).toBe(0);
    expect(warnings(freed.stderr)).toEqual([]);
    const all = entries(ledger);
    expect(all).toHaveLength(4);
    expect(all[3]).toMatchObject({ command: 'run', model: 'gpt-3.5-turbo-0125', usage: { input_tokens: 11, output_tokens: 16 } });
    const report = await reportRequests(ledger);
    expect(report).toEqual({ requests: 4, stderr: '' });
  });

  it('exec (appendSoon): a call that does not fit is cut back off; the calls that fit stay, and report counts exactly them', async () => {
    // How long one exec line is, measured off the disk under test.
    const probe = join(tmpdir(), `llm-usage-probe-${process.pid}.jsonl`);
    const p = await runCli(['exec', '--ledger', probe, '--', process.execPath, PLAIN, '/dev/null', 'chat'], { env: env() });
    expect(p.code).toBe(0);
    const lineLength = readFileSync(probe).length;
    rmSync(probe);

    // Room for one line and half of the next.
    const seed = seedLedger(lineLength + Math.floor(lineLength / 2));
    fillDisk();
    const r = await runCli(['exec', '--ledger', ledger, '--', process.execPath, PLAIN, '/dev/null', 'chat', 'chat', 'chat'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Successful Requests │\s+3 │/);
    const w = warnings(r.stderr);
    expect(w.length).toBeGreaterThan(0);
    const lost = w.map((l) => {
      const m = /the ledger .* is full(?: \(ENOSPC\))?: (?:this call was|(\d+) of (\d+) calls (?:was|were)) not recorded \((wrote nothing|wrote (\d+) of (\d+) bytes, cut the partial line back off)\); free space there, or use --ledger FILE$/.exec(l);
      expect(m, l).not.toBeNull();
      return m?.[1] === undefined ? 1 : Number(m[1]);
    });
    expect(lost.reduce((a, b) => a + b, 0)).toBe(2);
    // The seed and exactly one whole call line; no fragment.
    const text = readFileSync(ledger, 'utf8');
    expect(text.startsWith(seed)).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    expect(entries(ledger).slice(3)).toEqual([expect.objectContaining({ command: 'exec', model: 'gpt-3.5-turbo-0125' })]);

    unlinkSync(filler);
    const freed = await runCli(['exec', '--ledger', ledger, '--', process.execPath, PLAIN, '/dev/null', 'chat', 'chat'], { env: env() });
    expect(warnings(freed.stderr)).toEqual([]);
    expect(entries(ledger)).toHaveLength(3 + 1 + 2);
    expect(await reportRequests(ledger)).toEqual({ requests: 6, stderr: '' });
  });

  it('a batch of lines (appendSoon) keeps the whole lines that fit and cuts the partial one', async () => {
    const one = line(7);
    const seed = seedLedger(Buffer.byteLength(one) + 30);
    fillDisk();
    const said: string[] = [];
    const writer = new LedgerWriter(ledger, (m) => said.push(m));
    for (const i of [7, 8, 9]) writer.appendSoon(JSON.parse(line(i)) as LedgerEntry);
    expect(said).toEqual([]);
    writer.flush();
    expect(said).toEqual([
      `the ledger ${ledger} is full: 2 of 3 calls were not recorded (wrote ${Buffer.byteLength(one) + 30} of ${Buffer.byteLength(line(7) + line(8) + line(9))} bytes, cut the partial line back off); free space there, or use --ledger FILE`,
    ]);
    expect(readFileSync(ledger, 'utf8')).toBe(seed + one);
    unlinkSync(filler);
    writer.append(JSON.parse(line(10)) as LedgerEntry);
    writer.close();
    expect(entries(ledger).map((e) => e.run_id)).toEqual(['seed-1', 'seed-2', 'seed-3', 'seed-7', 'seed-10']);
  });

  it('a file that ends mid-line (a fragment that could not be cut) gets a new line first, so the next line is never swallowed', async () => {
    const seed = line(1) + line(2);
    writeFileSync(ledger, seed + line(3).slice(0, 50));
    const r = await runCli(['run', '--ledger', ledger, 'hi'], { env: env() });
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual([]);
    expect(readFileSync(ledger, 'utf8').split('\n')).toHaveLength(5); // 2 seeds, the fragment, the new line, ''
    const report = await reportRequests(ledger);
    expect(report.requests).toBe(3);
    expect(report.stderr).toMatch(/skipped 1 unreadable line/);
  });
});
