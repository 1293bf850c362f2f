import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/**
 * The README's promise for bad input, across every command and option: exit 2, exactly one
 * line on stderr that names what is wrong, and nothing on stdout. Nothing here reaches a
 * provider: every case fails before a call is made (and the base URLs point at a closed
 * loopback port, so a case that did not would fail, not call out).
 */

const dir = mkdtempSync(join(tmpdir(), 'llm-usage-bad-input-'));
const aDir = join(dir, 'a-directory');
mkdirSync(aDir);
const missing = join(dir, 'missing.json');
const KEY = 'sk-test-abcdefghijklmnopqrstuvwxyz0123';

const model = (over: Record<string, unknown> = {}) => ({ id: 'house', match: { equals: 'house' }, prices: { input_mtok: 1, output_mtok: 2 }, ...over });
const provider = (models: unknown[], over: Record<string, unknown> = {}) => ({ id: 'mycorp', name: 'My Corp', models, ...over });

/** Price files, each wrong in one way; the value is what the one line must say. */
const PRICE_FILES: Record<string, { data: unknown; says: RegExp }> = {
  'not-json': { data: '{"providers": [', says: /is not valid JSON/ },
  'empty-array': { data: [], says: /has no providers/ },
  'empty-providers': { data: { providers: [] }, says: /has no providers/ },
  'null': { data: null, says: /expected \{"providers"/ },
  'provider-no-id': { data: { providers: [{ models: [model()] }] }, says: /providers\[0\]\.id must be a non-empty string/ },
  'provider-blank-id': { data: { providers: [provider([model()], { id: '  ' })] }, says: /providers\[0\]\.id must be a non-empty string/ },
  'provider-unknown-key': { data: { providers: [provider([model()], { modles: [] })] }, says: /\("mycorp"\) has unknown key "modles"/ },
  'provider-name-number': { data: { providers: [provider([model()], { name: 7 })] }, says: /\("mycorp"\)\.name must be a string/ },
  'provider-fallback-string': { data: { providers: [provider([model()], { fallback_model_providers: 'openai' })] }, says: /fallback_model_providers must be a list of strings/ },
  'provider-no-models': { data: { providers: [provider([])] }, says: /\("mycorp"\)\.models is empty/ },
  'provider-models-object': { data: { providers: [provider({} as unknown as unknown[])] }, says: /\("mycorp"\)\.models must be an array/ },
  'duplicate-provider': { data: { providers: [provider([model()]), provider([model({ id: 'other', match: { equals: 'other' } })])] }, says: /providers\[1\] \("mycorp"\) repeats providers\[0\]/ },
  'duplicate-model': { data: { providers: [provider([model(), model({ match: { equals: 'house-2' } })])] }, says: /models\[1\] \("house"\) repeats models\[0\]/ },
  'model-unknown-key': { data: { providers: [provider([model({ contxt_window: 8000 })])] }, says: /\("house"\) has unknown key "contxt_window"/ },
  'model-no-match': { data: { providers: [provider([model({ match: undefined })])] }, says: /\("house"\)\.match must be a match rule/ },
  'match-unknown-rule': { data: { providers: [provider([model({ match: { like: 'house' } })])] }, says: /match has unknown rule "like"/ },
  'match-empty-or': { data: { providers: [provider([model({ match: { or: [] } })])] }, says: /match\.or must be a non-empty list/ },
  'match-empty-string': { data: { providers: [provider([model({ match: { contains: '' } })])] }, says: /match\.contains is empty, which would match every model/ },
  'regex-invalid': { data: { providers: [provider([model({ match: { regex: '(' } })])] }, says: /match\.regex is not a valid regular expression/ },
  'regex-lookahead': { data: { providers: [provider([model({ match: { regex: '^(?=house)' } })])] }, says: /match\.regex is not a valid regular expression.*no lookarounds or backreferences/ },
  'regex-backreference': { data: { providers: [provider([model({ match: { regex: '(a)\\1' } })])] }, says: /match\.regex is not a valid regular expression/ },
  'regex-nested-bad': { data: { providers: [provider([model({ match: { or: [{ equals: 'x' }, { regex: '[' }] } })])] }, says: /match\.or\[1\]\.regex is not a valid/ },
  'prices-missing': { data: { providers: [provider([model({ prices: undefined })])] }, says: /\("house"\)\.prices must be an object of prices/ },
  'price-string': { data: { providers: [provider([model({ prices: { input_mtok: 'cheap' } })])] }, says: /prices\.input_mtok must be a non-negative number/ },
  'price-negative': { data: { providers: [provider([model({ prices: { input_mtok: -1 } })])] }, says: /prices\.input_mtok must be a non-negative number, got -1/ },
  'price-out-of-range': { data: '{"providers": [{"id": "mycorp", "models": [{"id": "house", "match": {"equals": "house"}, "prices": {"input_mtok": 1e309}}]}]}', says: /prices\.input_mtok must be a non-negative number \(the value given is out of range\)/ },
  'price-unknown-key': { data: { providers: [provider([model({ prices: { input_mtok: 1, bogus_mtok: 2 } })])] }, says: /\("house"\)\.prices has unknown price "bogus_mtok"/ },
  'tier-out-of-range': { data: '{"providers": [{"id": "mycorp", "models": [{"id": "house", "match": {"equals": "house"}, "prices": {"input_mtok": {"base": 1, "tiers": [{"start": 100, "price": 1e400}]}}}]}]}', says: /input_mtok tiers must be .*finite/ },
  'cache-1h-alone': { data: { providers: [provider([model({ prices: { input_mtok: 1, cache_write_1h_mtok: 2 } })])] }, says: /cache_write_1h_mtok without cache_write_mtok/ },
  'constraint-bad-date': { data: { providers: [provider([model({ prices: [{ constraint: { start_date: '2026-02-30' }, prices: { input_mtok: 1 } }] })])] }, says: /prices\[0\]\.constraint must have a start_date/ },
  'constraint-bad-time': { data: { providers: [provider([model({ prices: [{ constraint: { start_time: '25:00:00Z', end_time: '08:00:00Z' }, prices: { input_mtok: 1 } }] })])] }, says: /prices\[0\]\.constraint must have a start_date .* or start_time and end_time/ },
  'context-window-out-of-range': { data: '{"providers": [{"id": "mycorp", "models": [{"id": "house", "match": {"equals": "house"}, "context_window": 1e309, "prices": {}}]}]}', says: /context_window must be a whole number \(the value given is out of range\)/ },
  'deprecated-string': { data: { providers: [provider([model({ deprecated: 'yes' })])] }, says: /deprecated must be true or false/ },
};
const priceFile: Record<string, string> = {};
for (const [name, { data }] of Object.entries(PRICE_FILES)) {
  priceFile[name] = join(dir, `${name}.json`);
  writeFileSync(priceFile[name] as string, typeof data === 'string' ? data : JSON.stringify(data));
}
// A catastrophic pattern for a backtracking engine: it must neither hang nor be taken silently.
const catastrophic = join(dir, 'catastrophic.json');
writeFileSync(catastrophic, JSON.stringify({ providers: [provider([model({ match: { regex: '(a+)+$' } })])] }));
// Nesting deep enough to overflow a recursive check: it must be named, not an internal error.
const deep = join(dir, 'deep.json');
writeFileSync(deep, `{"providers": [{"id": "mycorp", "models": [{"id": "house", "match": ${'{"or": ['.repeat(5000)}{"equals": "house"}${']}'.repeat(5000)}, "prices": {}}]}]}`);
const ledgerFile = join(dir, 'ledger.jsonl');
writeFileSync(ledgerFile, '');

interface Case {
  args: string[];
  /** What the one line must say. */
  says: RegExp;
  env?: Record<string, string | undefined>;
  input?: string;
}

const cases: Case[] = [];
const addCase = (args: string[], says: RegExp, extra: Omit<Case, 'args' | 'says'> = {}) => void cases.push({ args, says, ...extra });
const add = addCase;
// The stream cases: its own prompt handling, and a sample of each class of option.
const STREAM_TOO = /^stream (""|   |--base-url (not a url|::::)|--repeat 10001|--max-cost 1e309|.*--max-cost 0\.001|--dry-run -p anthropic|--ledger .* --no-ledger|hi)( |$)/;

// ---- the price files, through price (flag and variable) and every command that reads them
for (const [name, { says }] of Object.entries(PRICE_FILES)) add(['price', '-m', 'gpt-4o', '--pricing', priceFile[name] as string], says);
add(['price', '-m', 'gpt-4o'], /has unknown price "bogus_mtok"/, { env: { LLM_USAGE_PRICING: priceFile['price-unknown-key'] } });
add(['price', '-m', 'gpt-4o'], /cannot read pricing file .*missing\.json: no such file \(ENOENT\): check the path/, { env: { LLM_USAGE_PRICING: missing } });
add(['price', '-m', 'gpt-4o', '--pricing', missing], /cannot read pricing file .*missing\.json: no such file \(ENOENT\): check the path given to --pricing/);
add(['price', '-m', 'gpt-4o', '--pricing', aDir], /--pricing .*a-directory is a directory: give a file/);
add(['price', '-m', 'gpt-4o', '--pricing', ''], /--pricing .* argument '' is invalid/);
add(['price', '-m', 'a'.repeat(36) + '!', '--pricing', catastrophic], /unknown model "a{36}!"/);
add(['price', '-m', 'gpt-4o', '--pricing', deep], /nests "or"\/"and" rules more than 16 deep: flatten them/);
add(['count', '-m', 'gpt-4o', '--pricing', priceFile['duplicate-model'] as string, 'hi'], /repeats models\[0\]/);
add(['run', '--dry-run', '--pricing', priceFile['empty-array'] as string, 'hi'], /has no providers/);
add(['stream', '--dry-run', '--pricing', priceFile['price-out-of-range'] as string, 'hi'], /out of range/);

// ---- price: models, providers, token counts
add(['price', '-m', ''], /--model .* argument '' is invalid. expected a model name/);
add(['price', '-m', ',,'], /",," has an empty model name/);
add(['price', '-m', 'gpt-4o,'], /"gpt-4o," has an empty model name/);
add(['price', '-m', 'a'.repeat(20_000)], /a model name of 20000 characters: model names are at most 256/);
add(['count', '-m', `gpt-4o-${'x'.repeat(300)}`, 'hi'], /model names are at most 256/);
add(['price', '-m', 'gpt-4o', '-m', ''], /--model .* argument '' is invalid/);
add(['price', '-p', '', '-m', 'gpt-4o'], /--provider .* argument '' is invalid/);
add(['price', '-p', 'nope', '-m', 'gpt-4o'], /unknown provider "nope"/);
add(['price', '-m', 'gpt-4-turbo-x'], /unknown model "gpt-4-turbo-x"; close: /);
add(['price', '-m', 'claude-3-5-sonnet-latest', '-p', 'openai'], /unknown model "claude-3-5-sonnet-latest" for provider openai/);
add(['price', '-m', 'gpt-4o,no-such-model'], /unknown model "no-such-model"/);
add(['price', ''], /the search word is empty/);
add(['price', 'zzzzqqq'], /no known model matches "zzzzqqq"/);
add(['price', '-p', 'anthropic', 'gpt-4o'], /no known model matches "gpt-4o" at anthropic/);
add(['price', '-m', 'gpt-4o', 'turbo'], /a search word \("turbo"\) lists models; with --model, leave it out/);
add(['price', '-i', '100'], /token counts need a model/);
for (const flag of ['--prompt-tokens', '-o', '--cache-write-1h-tokens']) add(['price', '-m', 'gpt-4o', flag, 'lots'], /expected a whole number of tokens/);
for (const flag of ['-i', '--completion-tokens', '--cached-tokens', '--reasoning-tokens']) {
  add(['price', '-m', 'gpt-4o', flag, '9007199254740993'], /expected at most 9007199254740991 \(larger counts cannot be held exactly\)/);
}
for (const value of ['', '-1', '1.5', '0x10', '1,412']) add(['price', '-m', 'gpt-4o', '-i', value], /--input-tokens .*is invalid. expected a whole number of tokens/);
add(['price', '-m', 'gpt-4o', '-i', '100', '--prompt-tokens', '200'], /--prompt-tokens is another name for --input-tokens: give only one of them/);
add(['price', '-m', 'gpt-4o', '--input-tokens', '100', '--prompt-tokens', '100'], /--prompt-tokens is another name for --input-tokens/);
add(['price', '-m', 'gpt-4o', '-o', '10', '--completion-tokens', '20'], /--completion-tokens is another name for --output-tokens/);
add(['price', '-m', 'gpt-4o', '-i', '10', '--cached-tokens', '20'], /exceed --input-tokens \(10\)/);
add(['price', '-m', 'claude-3-5-sonnet-20241022', '-i', '100', '--cache-write-tokens', '5', '--cache-write-1h-tokens', '6'], /--cache-write-1h-tokens exceeds --cache-write-tokens/);
add(['price', '-m', 'gpt-4o', '-o', '10', '--reasoning-tokens', '11'], /--reasoning-tokens \(11\) exceed --output-tokens \(10\)/);
add(['price', '--bogus'], /unknown option '--bogus'/);
add(['price', '-m'], /option '-m, --model <names>' argument missing/);

// ---- run and stream: prompts, models, providers, numbers, URLs, limits, ledger
// stream shares run's options and planning; it gets the cases of its own path (prompt, planning, limits).
const call = (cmd: 'run' | 'stream', full: boolean) => {
  const add = full ? addCase : (args: string[], says: RegExp, extra: Omit<Case, 'args' | 'says'> = {}) => (STREAM_TOO.test(args.map((x) => x || '""').join(' ')) ? addCase(args, says, extra) : undefined);
  add([cmd, ''], /the prompt is empty/);
  add([cmd, '   '], /the prompt is empty/);
  add([cmd, '-m', '', 'hi'], /--model .* argument '' is invalid/);
  add([cmd, '-p', '', 'hi'], /--provider .* argument '' is invalid/);
  add([cmd, '-p', 'vertex', 'hi'], /--provider must be one of openai, anthropic, azure, bedrock, google \(gemini\), groq, deepseek, mistral, x-ai, together, fireworks, cerebras, perplexity, moonshotai, openrouter, ollama, not "vertex"/);
  add([cmd, '--api', '', 'hi'], /--api .* argument '' is invalid/);
  add([cmd, '--api', 'embeddings', 'hi'], /--api must be chat, completions or responses, not "embeddings"/);
  add([cmd, '-m', 'claude-3-5-haiku-latest', '--api', 'responses', 'hi'], /--api responses is an OpenAI API; Anthropic models use messages/);
  add([cmd, '--system', '', 'hi'], /--system .* argument '' is invalid/);
  for (const value of ['0', '9007199254740993']) add([cmd, '--max-tokens', value, 'hi'], /--max-tokens .*is invalid. expected/);
  for (const value of ['3', '', '0x1', '2.0001']) add([cmd, '--temperature', value, 'hi'], /--temperature .*is invalid. expected a number from 0 to 2/);
  for (const value of ['0', '129']) add([cmd, '-n', value, 'hi'], /option '-n <n>' argument .* is invalid/);
  add([cmd, '-n', '2', '--api', 'responses', 'hi'], /-n 2: several choices per call are only for the chat, completions and gemini APIs/);
  for (const value of ['0', '10001', '1000001']) add([cmd, '--repeat', value, 'hi'], /--repeat .*is invalid. expected/);
  for (const value of ['abc', '', '0x10', '1e309']) add([cmd, '--max-cost', value, 'hi'], /--max-cost .*is invalid. expected dollars, such as 0.50/);
  add([cmd, '-m', 'my-model', '--max-cost', '1', 'hi'], /--max-cost \$1\.00: cannot bound the cost \(no price for model "my-model"\); nothing was sent/);
  add([cmd, '-m', 'gpt-4o', '--max-tokens', '1000', '--max-cost', '0.001', 'hi'], /exceeds --max-cost \$0\.001; nothing was sent/);
  add([cmd, '--base-url', '', 'hi'], /--base-url .* argument '' is invalid/);
  add([cmd, '--base-url', 'not a url', 'hi'], /--base-url "not a url" is not a URL: give one such as https:\/\/api\.openai\.com\/v1/);
  add([cmd, '--base-url', 'ftp://files.example.com/v1', 'hi'], /--base-url: ftp:\/\/ is not supported: give an http:\/\/ or https:\/\/ URL/);
  add([cmd, '--base-url', '::::', 'hi'], /--base-url "::::" is not a URL/);
  add([cmd, '--base-url', 'localhost:8080/v1', 'hi'], /--base-url: localhost:\/\/ is not supported/);
  add([cmd, '--base-url', 'http://127.0.0.1:9/v1#frag', 'hi'], /--base-url must not have a #fragment/);
  add([cmd, '-m', 'claude-3-5-haiku-latest', '--base-url', 'mailto:x@example.com', 'hi'], /--base-url: mailto:\/\/ is not supported: give an http:\/\/ or https:\/\/ URL such as https:\/\/api\.anthropic\.com/);
  add([cmd, 'hi'], /OPENAI_BASE_URL "not a url" is not a URL/, { env: { OPENAI_BASE_URL: 'not a url' } });
  add([cmd, '-m', 'claude-3-5-haiku-latest', 'hi'], /ANTHROPIC_BASE_URL: file:\/\/ is not supported/, { env: { ANTHROPIC_BASE_URL: 'file:///etc/passwd' } });
  add([cmd, 'hi'], /no API key: set the OPENAI_API_KEY environment variable/, { env: { OPENAI_API_KEY: undefined } });
  add([cmd, '-m', 'claude-3-5-haiku-latest', 'hi'], /no API key: set the ANTHROPIC_API_KEY environment variable/, { env: { ANTHROPIC_API_KEY: undefined } });
  add([cmd, '--dry-run', '-p', 'anthropic', '-m', 'gpt-4o', 'hi'], /--provider anthropic does not serve gpt-4o \(an openai model\)/, { env: { ANTHROPIC_BASE_URL: undefined } });
  add([cmd, '--dry-run', '-p', 'openai', '-m', 'claude-3-5-sonnet-latest', 'hi'], /--provider openai does not serve claude-3-5-sonnet-latest \(an anthropic model\)/, { env: { OPENAI_BASE_URL: undefined } });
  add([cmd, '--ledger', '', 'hi'], /--ledger .* argument '' is invalid/);
  add([cmd, '--ledger', aDir, 'hi'], /a-directory is a directory: give a file/);
  add([cmd, '--ledger', ledgerFile, '--no-ledger', 'hi'], /--ledger and --no-ledger contradict each other/);
  add([cmd, '--log-content', '--no-ledger', 'hi'], /--log-content and --no-ledger contradict each other/);
  add([cmd, '--pricing', missing, 'hi'], /cannot read pricing file .*: no such file/);
};
call('run', true);
call('stream', false);
add(['run', 'one', '', 'three'], /prompt 2 of 3 is empty/);
add(['run'], /no prompt: give one as an argument, or pipe it on stdin/, { input: '' });
add(['run'], /the prompt is empty/, { input: '  \n' });
add(['run', '--repeat', '5000', 'a', 'b', 'c'], /3 prompts x --repeat 5000 is 15000 calls; at most 10000 per command/);
add(['run', '--usage', 'hi'], /unknown option '--usage'/);
add(['stream', 'one', 'two'], /too many arguments for 'stream'/);

// ---- count
add(['count', '-m', '', 'hi'], /--model .* argument '' is invalid/);
add(['count', '-m', 'no-such-model', 'hi'], /unknown model "no-such-model"/);
add(['count', '-m', 'gpt-4o-minii', 'hi'], /unknown model "gpt-4o-minii"; close: gpt-4o-mini/);
add(['count', '-f', ''], /--file .* argument '' is invalid/);
add(['count', '-f', aDir], /a-directory is a directory: give a file/);
add(['count', '-f', missing], /--file .*missing\.json: no such file \(ENOENT\): check the path/);
add(['count', '--chat', 'not json'], /--chat: text is not JSON/);
add(['price', '-m', 'gpt-4o', '--pricing', '/dev/zero'], /pricing file \/dev\/zero is a device, not a file: check the path given to --pricing or LLM_USAGE_PRICING/);
add(['count', '--chat', '[{"role": 1}]'], /--chat: message 1 in text has no "role" string; it must be a JSON array of messages/);
add(['count', '--chat', '{"role": "user", "content": "hi"}'], /--chat: text must be a JSON array of messages/);
add(['count', '--chat'], /--chat: stdin is not JSON/, { input: 'hello' });
add(['count', '--pricing', '', 'hi'], /--pricing .* argument '' is invalid/);
add(['count', '--bogus', 'hi'], /unknown option '--bogus'/);

// ---- report
for (const flag of ['--since', '--until']) {
  const add = flag === '--since' ? addCase : (args: string[], says: RegExp) => (/""|2026-02-30|99999999999d|24:00/.test(args.map((x) => x || '""').join(' ')) ? addCase(args, says) : undefined);
  add(['report', flag, ''], new RegExp(`${flag} .* argument '' is invalid`));
  add(['report', flag, 'yesterday'], new RegExp(`${flag} "yesterday" is not a date \\(2026-11-01\\), a time, or an age`));
  add(['report', flag, '2026-02-30'], new RegExp(`${flag} "2026-02-30" is not a real date or time`));
  add(['report', flag, '2026-13-01'], new RegExp(`${flag} "2026-13-01" is not a real date or time`));
  add(['report', flag, '2026-01-01T24:00'], new RegExp(`${flag} "2026-01-01T24:00" is not a real date or time`));
  add(['report', flag, '2026-01-01T12:60:00Z'], /is not a real date or time/);
  add(['report', flag, '99999999999d'], new RegExp(`${flag} 99999999999d reaches back before any date`));
  add(['report', flag, '7y'], /is not a date \(2026-11-01\), a time, or an age/);
  add(['report', flag, '-7d'], /is not a date \(2026-11-01\), a time, or an age/);
}
add(['report', '--since', '2026-03-01', '--until', '2026-02-01'], /--since 2026-03-01 is after --until 2026-02-01, so no call could match/);
add(['report', '--since', '1d', '--until', '7d'], /--since 1d is after --until 7d/);
add(['report', '--since', '2026-03-01T00:00:00Z', '--until', '2026-02-28', '--utc'], /is after --until/);
add(['report', '--by', ''], /--by .* argument '' is invalid/);
add(['report', '--by', 'week'], /--by must be one of day, model, provider, command, or tag:KEY, not "week"/);
add(['report', '-m', ''], /--model .* argument '' is invalid/);
add(['report', '-p', ''], /--provider .* argument '' is invalid/);
add(['report', '--ledger', ''], /--ledger .* argument '' is invalid/);
add(['report', '--ledger', aDir], /a-directory is a directory: give a file/);
add(['report'], /the ledger .*a-directory is a directory: give the ledger file with --ledger FILE or LLM_USAGE_LEDGER/, { env: { LLM_USAGE_LEDGER: aDir } });
add(['report', '--ledger', 'x'.repeat(5000)], /cannot read the ledger x+: the name is too long \(ENAMETOOLONG\): check the path/);
add(['report', '--json', '--csv'], /choose one of --json and --csv/);
add(['report', 'this-week'], /too many arguments for 'report'/);

// ---- exec and proxy: what fails before anything starts
for (const cmd of ['exec', 'proxy'] as const) {
  const tail = cmd === 'exec' ? ['--', process.execPath, '-e', '0'] : [];
  // Both share cli-proxy.ts's options; proxy gets a sample (a case that got past would serve until the timeout).
  const run = (args: string[], says: RegExp, extra: Omit<Case, 'args' | 'says'> = {}) =>
    cmd === 'exec' || /""|not a url|--report \/|--ledger \/|1e309/.test(args.map((a) => a || '""').join(' ')) ? addCase([cmd, ...args, ...tail], says, extra) : undefined;
  for (const value of ['abc', '', '1e309']) run(['--max-cost', value], /--max-cost .*is invalid. expected dollars/);
  for (const flag of ['--openai-upstream', '--anthropic-upstream', '--azure-upstream']) {
    run([flag, ''], new RegExp(`${flag} .* argument '' is invalid`));
    run([flag, 'not a url'], new RegExp(`${flag}: "not a url" is not a URL`));
    run([flag, 'ftp://files.example.com'], new RegExp(`${flag}: "ftp://files.example.com" is not an http:// or https:// URL`));
    run([flag, '::::'], new RegExp(`${flag}: "::::" is not a URL`));
    run([flag, 'http://127.0.0.1:9/v1?x=1'], new RegExp(`${flag}: .* must not have a query or fragment`));
  }
  run([], /OPENAI_BASE_URL: "not a url" is not a URL/, { env: { OPENAI_BASE_URL: 'not a url' } });
  run([], /ANTHROPIC_BASE_URL: "ftp:\/\/x" is not an http/, { env: { ANTHROPIC_BASE_URL: 'ftp://x' } });
  run([], /AZURE_OPENAI_ENDPOINT: "not a url" is not a URL/, { env: { AZURE_OPENAI_ENDPOINT: 'not a url' } });
  run(['--report', ''], /--report .* argument '' is invalid/);
  run(['--report', aDir], /a-directory is a directory: give a file/);
  run(['--report', join(missing, 'nested', 'report.json')], /--report .*: cannot write there \(no such directory\)/);
  run(['--pricing', ''], /--pricing .* argument '' is invalid/);
  run(['--pricing', missing], /cannot read pricing file .*: no such file/);
  run(['--pricing', priceFile['price-unknown-key'] as string], /has unknown price "bogus_mtok"/);
  run(['--ledger', ''], /--ledger .* argument '' is invalid/);
  run(['--ledger', ledgerFile, '--no-ledger'], /--ledger and --no-ledger contradict each other/);
  // The public upstreams are https, so they would go through HTTPS_PROXY.
  run([], /HTTPS_PROXY: socks5:\/\/ proxies are not supported, only http:\/\/ and https:\/\//, { env: { HTTPS_PROXY: 'socks5://127.0.0.1:9', OPENAI_BASE_URL: undefined, ANTHROPIC_BASE_URL: undefined } });
}
add(['proxy', '--log-content'], /unknown option '--log-content'/);
for (const value of ['abc', '65536', '']) add(['proxy', '--port', value], /--port .*is invalid. expected a port number from 0 to 65535/);
add(['proxy', '--host', ''], /--host .* argument '' is invalid/);
add(['proxy', 'extra'], /too many arguments for 'proxy'/);
add(['exec'], /no command to run/);
add(['exec', process.execPath, '-e', '0'], /exec: put -- before the command/);
add(['exec', '--bogus', '--', 'true'], /exec: unknown option '--bogus'/);
add(['exec', '--providers', 'azure,gcp', '--', 'true'], /--providers: "gcp" is not one of openai, anthropic, azure, bedrock, google, groq, together, cerebras/);
add(['exec', '--providers', '', '--', 'true'], /--providers .* argument '' is invalid/);
add(['proxy', '--providers', 'azure'], /unknown option '--providers'/);

// ---- the program itself
add(['bogus'], /unknown command 'bogus'/);
add(['--bogus'], /unknown option '--bogus'/);

describe('bad input: exit 2, one line on stderr naming the fault, nothing on stdout', () => {
  it('covers every command with at least 150 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    for (const cmd of ['price', 'run', 'stream', 'count', 'report', 'exec', 'proxy']) expect(cases.filter((c) => c.args[0] === cmd).length, cmd).toBeGreaterThanOrEqual(5);
  });

  it.concurrent.each(cases.map((c) => [c.args.map((a) => (a === '' ? '""' : a.replaceAll(dir, '$DIR'))).join(' '), c] as const))('%s', async (_label, c) => {
    const r = await runCli(c.args, {
      input: c.input,
      timeoutMs: 15_000,
      env: {
        OPENAI_API_KEY: KEY,
        ANTHROPIC_API_KEY: KEY,
        // A closed port: a case that got past its check fails here instead of calling out.
        OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
        HTTPS_PROXY: undefined,
        https_proxy: undefined,
        ...c.env,
      },
    });
    expect(r.signal, 'it must not hang').toBeNull();
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n') ? r.stderr.slice(0, -1).split('\n') : r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^llm-usage: /);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).not.toContain(KEY);
    expect(r.stderr).toMatch(c.says);
    expect(r.code).toBe(2);
  });
});
