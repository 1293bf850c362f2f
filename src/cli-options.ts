import { statSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { MAX_CALLS } from './plan.js';

/**
 * Option parsers shared by the commands' registrations: a bad value is commander's one line
 * and exit 2, before any command runs. Every option that takes a value has one, so an empty
 * value ("") is never mistaken for "not given".
 */

/** Token counts above this cannot be held exactly in a double, so they would be rounded silently. */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

export function count(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number of tokens, such as 1412');
  const n = Number(value);
  if (n > MAX_COUNT) throw new InvalidArgumentError(`expected at most ${MAX_COUNT} (larger counts cannot be held exactly)`);
  return n;
}

export function positive(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  const n = Number(value);
  if (n > MAX_COUNT) throw new InvalidArgumentError(`expected at most ${MAX_COUNT}`);
  return n;
}


export function repeatCount(value: string): number {
  const n = positive(value);
  if (n > MAX_CALLS) throw new InvalidArgumentError(`expected at most ${MAX_CALLS} calls per command`);
  return n;
}

// The most choices per call OpenAI accepts (`n`).
const MAX_CHOICES = 128;

export function choices(value: string): number {
  const n = positive(value);
  if (n > MAX_CHOICES) throw new InvalidArgumentError(`expected at most ${MAX_CHOICES} choices per call`);
  return n;
}

// A plain decimal: Number() alone would also take "0x10", "1e309" or "Infinity".
const DECIMAL = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export function temperature(value: string): number {
  const t = Number(value.trim());
  if (!DECIMAL.test(value.trim()) || t > 2) throw new InvalidArgumentError('expected a number from 0 to 2');
  return t;
}

export function dollars(value: string): number {
  const text = value.trim().replace(/^\$/, '');
  const usd = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(usd)) throw new InvalidArgumentError('expected dollars, such as 0.50');
  return usd;
}

/** Any text option: an empty or blank value is an error, not "use the default". Kept as given. */
export function text(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a value, got an empty one');
  return value;
}

/** A name (model, provider, API, group): non-empty, without the spaces around it. */
export function name(value: string): string {
  return text(value).trim();
}

// Longer than any provider's model id (Bedrock ARNs are about 100); also keeps "close:" suggestions quick.
const MAX_MODEL_NAME = 256;

/** --model a,b or --model repeated: every name non-empty. */
export function modelList(value: string, previous: string[] = []): string[] {
  const names = value.split(',').map((m) => m.trim());
  if (names.some((m) => m === '')) {
    throw new InvalidArgumentError(value.trim() === '' ? 'expected a model name, got an empty one' : `"${value}" has an empty model name: separate names with single commas`);
  }
  names.forEach(model);
  return [...previous, ...names];
}

/** One model name: non-empty and of a plausible length. */
export function model(value: string): string {
  const n = name(value);
  if (n.length > MAX_MODEL_NAME) throw new InvalidArgumentError(`a model name of ${n.length} characters: model names are at most ${MAX_MODEL_NAME}`);
  return n;
}

/** A file to read or write: a non-empty path that is not a directory. */
export function file(value: string): string {
  const path = text(value);
  let directory = false;
  try {
    directory = statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    // Unreadable or not a path at all: the command that opens it says why.
  }
  if (directory) throw new InvalidArgumentError(`${path} is a directory: give a file`);
  return path;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --file, repeatable: each a file. */
export function collectFiles(value: string, previous: string[] = []): string[] {
  return [...previous, file(value)];
}

/** --tag KEY=VALUE, repeatable: collected here, checked with LLM_USAGE_TAGS (telemetry/tags.ts). */
export const tagOption = (): Option =>
  new Option('--tag <key=value>', 'attribute the calls: recorded in the ledger, exported as llm_usage.tag.KEY (repeat for several; also LLM_USAGE_TAGS=k=v,k=v)').argParser(
    (value: string, previous: string[] = []) => [...previous, text(value)],
  );

export const pricingOption = (): Option =>
  new Option('--pricing <file>', 'a price file merged over the built-in table (same schema as pricing.json); also LLM_USAGE_PRICING').argParser(file);

/**
 * --ledger FILE / --no-ledger / --log-content: where every metered call is recorded. Commander
 * lets the last of --ledger and --no-ledger win; giving both (or --log-content with
 * --no-ledger) contradicts itself, so it is an error instead.
 */
export function addLedgerOptions(cmd: Command, logContent: boolean): Command {
  cmd.addOption(new Option('--ledger <file>', 'record calls in this file (default: LLM_USAGE_LEDGER, else the user data directory)').argParser(file));
  cmd.addOption(new Option('--no-ledger', 'do not record the calls of this command'));
  if (logContent) cmd.addOption(new Option('--log-content', 'also record prompts and replies in the ledger (off by default)'));
  const seen = new Set<string>();
  const clash = (a: string, b: string) => cmd.error(`${a} and ${b} contradict each other: give one of them`, { exitCode: 2, code: 'llm-usage.conflict' });
  for (const name of ['ledger', 'no-ledger', 'log-content']) {
    cmd.on(`option:${name}`, () => {
      seen.add(name);
      if (seen.has('ledger') && seen.has('no-ledger')) clash('--ledger', '--no-ledger');
      if (seen.has('log-content') && seen.has('no-ledger')) clash('--log-content', '--no-ledger');
    });
  }
  return cmd;
}
