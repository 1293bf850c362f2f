import { closeSync, createReadStream, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import envPaths from 'env-paths';
import { roundUsd } from './pricing/cost.js';
import type { CallRecord, Source } from './record.js';
import type { Usage } from './usage.js';

/** One line of the ledger: one call, without prompts, replies or keys unless --log-content. */
export interface LedgerEntry {
  time: string;
  command: string;
  run_id: string;
  provider: string;
  api: string;
  model: string;
  priced_as: string | null;
  /** Azure: whether the reply's model or the deployment's name priced the call (CallRecord.priced_by). */
  priced_by?: 'model' | 'deployment';
  usage: Usage;
  usage_source: Source;
  cost_usd: number | null;
  /** The service tier the provider reported (absent when it reported none): `report --reprice` prices at it. */
  service_tier?: string;
  ok: boolean;
  error_kind: string | null;
  status: number | null;
  duration_ms: number;
  /** --tag and LLM_USAGE_TAGS, when any. */
  tags?: Record<string, string>;
  prompt?: string;
  text?: string;
}

export interface LedgerChoice {
  /** --ledger FILE, or false for --no-ledger. */
  ledger?: string | false;
}

/** The ledger file: --ledger, else LLM_USAGE_LEDGER, else the user's data directory; null when off. */
export function ledgerPath(choice: LedgerChoice, env: NodeJS.ProcessEnv): string | null {
  if (choice.ledger === false) return null;
  if (choice.ledger) return choice.ledger;
  if (env.LLM_USAGE_LEDGER) return env.LLM_USAGE_LEDGER;
  return join(envPaths('llm-usage', { suffix: '' }).data, 'ledger.jsonl');
}

export function entryOf(record: CallRecord, ctx: { command: string; runId: string; time?: Date; prompt?: string; logContent?: boolean; tags?: Record<string, string> }): LedgerEntry {
  // Every entry has the same keys in the same order (one shape, which JSON.stringify writes
  // fastest); an optional one left undefined is not written, so the line is as if it were absent.
  const content = ctx.logContent === true;
  return {
    time: ctx.time ? ctx.time.toISOString() : isoNow(),
    command: ctx.command,
    run_id: ctx.runId,
    provider: record.provider,
    api: record.api,
    model: record.model,
    priced_as: record.priced_as,
    priced_by: record.priced_by || undefined,
    usage: record.usage,
    usage_source: record.usage_source,
    cost_usd: roundUsd(record.cost_usd),
    service_tier: record.service_tier || undefined,
    ok: record.ok,
    error_kind: record.error_kind,
    status: record.status,
    duration_ms: record.duration_ms,
    tags: ctx.tags && Object.keys(ctx.tags).length ? ctx.tags : undefined,
    prompt: content ? ctx.prompt : undefined,
    text: content ? record.text : undefined,
  };
}

let nowMs = NaN;
let nowIso = '';

/** The time now as an ISO string, made once a millisecond: a proxy records several calls in one. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== nowMs) {
    nowMs = ms;
    nowIso = new Date(ms).toISOString();
  }
  return nowIso;
}

/** How long appendSoon holds lines at most, and how many. */
const SOON_MS = 50;
const SOON_LINES = 256;

/** Errors that mean the file system has no room for what we write: the line is lost, not the command. */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Appends entries as JSON lines. Each line (or, with appendSoon, each turn's lines) is one
 * write(2) to a file opened once with O_APPEND, so several processes appending at once neither
 * lose nor interleave lines, and a long-running proxy pays no open per call. A ledger that
 * cannot be written is a warning, never a reason to lose the command's own output.
 *
 * A full disk can take part of a line (write(2) returns fewer bytes than asked). That fragment
 * is cut off again (ftruncate to where the line began) and the loss is said in one line; and a
 * write to a file that does not end in a newline (a fragment we could not cut, or a crash
 * mid-write) starts a new line first, so a fragment never swallows the good line after it.
 */
export class LedgerWriter {
  private warned = false;
  private fd: number | null = null;
  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void,
  ) {}

  append(entry: LedgerEntry): void {
    this.write(JSON.stringify(entry) + '\n', 1);
  }

  /** The lines appendSoon holds, without their newlines. */
  private pending: string[] = [];

  /**
   * Appends within SOON_MS, together with the other lines of that time: one write(2) for all of
   * them (still whole lines, so still never interleaved), at once when SOON_LINES are waiting.
   * For a proxy under load, where a write per call, or even per turn of the event loop, is a
   * system call per call or two. What is pending when the process exits is written then; the
   * timer never keeps a process alive.
   */
  appendSoon(entry: LedgerEntry): void {
    this.pending.push(JSON.stringify(entry));
    if (this.pending.length >= SOON_LINES) return this.flush();
    if (this.pending.length > 1) return;
    if (!this.exitHook) {
      this.exitHook = true;
      process.once('exit', this.flush);
    }
    this.timer = setTimeout(this.flush, SOON_MS).unref();
  }

  private timer: NodeJS.Timeout | null = null;
  private exitHook = false;

  /** Writes what appendSoon holds. */
  readonly flush = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const lines = this.pending.length;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    this.write(text, lines);
  };

  /** Writes what is pending and closes the file (a later append opens it again). */
  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private write(text: string, lines: number): void {
    let fd: number;
    try {
      fd = this.fd ??= this.open();
    } catch (e) {
      this.warnOnce(e);
      return;
    }
    let data = Buffer.from(text);
    let prefixed = false;
    let written: number;
    try {
      if (this.readable && !endsWithNewline(fd)) {
        data = Buffer.concat([NEWLINE, data]);
        prefixed = true;
      }
      written = writeSync(fd, data);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === undefined || !FULL.has(code)) {
        this.warnOnce(e);
        return;
      }
      this.lost(lines, lines, 0, data.length, code, true);
      return;
    }
    if (written === data.length) return;
    // A short write: the disk filled up mid-line. Keep the whole lines that made it (a batch
    // may have several), cut the rest back off.
    const kept = data.subarray(0, written).lastIndexOf(0x0a) + 1;
    const keptLines = countNewlines(data.subarray(0, kept)) - (prefixed && kept > 0 ? 1 : 0);
    const cut = this.readable && cutBack(fd, data.subarray(kept, written));
    // write(2) gives no errno for a short write (the next one would): the count says it all.
    this.lost(lines - keptLines, lines, written, data.length, null, cut);
  }

  private lost(lost: number, of: number, written: number, total: number, code: string | null, cut: boolean): void {
    const calls = of === 1 ? 'this call was not recorded' : `${lost} of ${of} calls ${lost === 1 ? 'was' : 'were'} not recorded`;
    const bytes = written ? `wrote ${written} of ${total} bytes, ${cut ? 'cut the partial line back off' : 'could not cut the partial line off (the next line starts on a new line)'}` : 'wrote nothing';
    this.warn(`the ledger ${this.path} is full${code ? ` (${code})` : ''}: ${calls} (${bytes}); free space there, or use --ledger FILE`);
  }

  private warnOnce(e: unknown): void {
    if (!this.warned) this.warn(`cannot write the ledger ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (use --ledger FILE or --no-ledger)`);
    this.warned = true;
  }

  /** False for a ledger we may append to but not read: no newline check, no verified cut. */
  private readable = true;

  private open(): number {
    const fd = this.openFile();
    // Only a regular file can hold a partial line (not /dev/null, a pipe): the check before
    // each write is for those alone.
    if (this.readable && !fstatSync(fd).isFile()) this.readable = false;
    return fd;
  }

  private openFile(): number {
    try {
      // a+: appends, and can read the last byte and cut a partial line back off.
      return openSync(this.path, 'a+');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES') {
        // A write-only ledger still takes lines, as it did before these checks.
        const fd = openSync(this.path, 'a');
        this.readable = false;
        return fd;
      }
      // Create the directory only when missing.
      if (code !== 'ENOENT') throw e;
      mkdirSync(dirname(this.path), { recursive: true });
      return openSync(this.path, 'a+');
    }
  }
}

const NEWLINE = Buffer.from('\n');

/** Whether appending to `fd` starts a line: an empty file, or one whose last byte is a newline. Not a regular file (/dev/null, a pipe): yes. */
function endsWithNewline(fd: number): boolean {
  const stat = fstatSync(fd);
  if (!stat.isFile() || stat.size === 0) return true;
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, stat.size - 1) === 1 && last[0] === 0x0a;
}

function countNewlines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) n++;
  return n;
}

/**
 * Cuts `fragment` off the end of the file, if the file still ends with it: another process
 * may have appended after it (O_APPEND puts its line after our fragment), and its line must
 * not be cut. Then the newline check before the next write keeps the lines apart instead.
 */
function cutBack(fd: number, fragment: Buffer): boolean {
  if (fragment.length === 0) return true;
  try {
    const size = fstatSync(fd).size;
    if (size < fragment.length) return false;
    const tail = Buffer.alloc(fragment.length);
    if (readSync(fd, tail, 0, tail.length, size - tail.length) !== tail.length || !tail.equals(fragment)) return false;
    ftruncateSync(fd, size - fragment.length);
    return true;
  } catch {
    return false;
  }
}

/**
 * Streams a ledger's entries to `onEntry` without holding the file in memory (a callback, not
 * an async generator: a million lines should not cost a million promises). Lines that do not
 * parse (a torn last line from a crash mid-write) are skipped and reported through `onSkip`,
 * never fatal.
 */
export async function scanLedger(
  path: string,
  onEntry: (entry: LedgerEntry) => void,
  onSkip: (lineNumber: number, torn: boolean) => void,
): Promise<void> {
  let rest = '';
  let lineNumber = 0;
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    let end = text.indexOf('\n');
    while (end !== -1) {
      lineNumber++;
      if (end > start) {
        const entry = parseLine(text.slice(start, end));
        if (entry) onEntry(entry);
        else onSkip(lineNumber, false);
      }
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    rest = text.slice(start);
  }
  if (rest.trim()) {
    const entry = parseLine(rest);
    if (entry) onEntry(entry);
    else onSkip(lineNumber + 1, true);
  }
}

function parseLine(line: string): LedgerEntry | null {
  try {
    const entry = JSON.parse(line) as LedgerEntry;
    return isEntry(entry) ? entry : null;
  } catch {
    return null;
  }
}

/** A line that report can add up: anything else (hand-edited, another tool's) is skipped, not a crash. */
function isEntry(e: LedgerEntry | null): boolean {
  if (!e || typeof e !== 'object') return false;
  const u = e.usage as Partial<Usage> | null;
  const count = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  return (
    typeof e.time === 'string' &&
    typeof e.model === 'string' &&
    typeof e.provider === 'string' &&
    typeof e.command === 'string' &&
    (e.priced_as === null || e.priced_as === undefined || typeof e.priced_as === 'string') &&
    (e.cost_usd === null || count(e.cost_usd)) &&
    typeof u === 'object' && u !== null &&
    count(u.input_tokens) && count(u.output_tokens) && count(u.total_tokens)
  );
}
