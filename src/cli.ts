import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { addLedgerOptions, choices, collectFiles, count, dollars, file, model, modelList, name, positive, pricingOption, repeatCount, tagOption, temperature, text } from './cli-options.js';
import { registerProxyCommands } from './cli-proxy.js';
import { describeFailure, UsageError } from './errors.js';
import { processIo, type Io } from './io.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Builds the program. Command modules are imported only when their command runs, so
 * `price` never loads an SDK or a tokenizer.
 */
export function buildProgram(io: Io): Command {
  const program = new Command('llm-usage')
    .description('Count and cost LLM calls: tokens used, prompt, completion and cost, saying where every number came from.')
    .version(pkg.version, '-v, --version')
    // --version after a command is that command's (exec node --version is node's, not ours).
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage price --model gpt-4-turbo --input-tokens 1412 --output-tokens 171
  $ llm-usage run "Tell me a joke"
  $ llm-usage stream --usage

Exit codes: 0 ok, 1 a call failed, 2 bad usage or input, 130 interrupted.`,
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Commander's parse errors become our one line: what is wrong and where to look.
      // A long value (a pasted file) is cut, so the line stays readable.
      outputError: (s, write) =>
        write(`llm-usage: ${s.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ').replace(/argument '([^]{60})[^]{20,}?' is invalid/, "argument '$1...' is invalid")} (see llm-usage --help)\n`),
    });

  program
    .command('price')
    .summary('show model prices, and what a call of so many tokens costs')
    .description(
      'Show a model\'s prices per 1M and per 1K tokens, and with token counts the cost of such a call, part by part.\n' +
        'Input tokens are ALL prompt tokens, cached and cache-write ones included (the OpenAI convention);\n' +
        '--cached-tokens and --cache-write-tokens say how many of them were cache reads and cache writes.\n' +
        'Without --model, list the known models (filtered by --provider and an optional search word).',
    )
    .argument('[search]', 'without --model: list only models whose name contains this word')
    .option('-m, --model <names>', 'model name(s): repeat or separate with commas to compare side by side', modelList)
    .option('-p, --provider <id>', 'look the model up at this provider only (openai, anthropic, azure, aws, google, ...)', name)
    .option('-i, --input-tokens <n>', 'prompt tokens of the call, cached ones included', count)
    .option('--prompt-tokens <n>', 'same as --input-tokens', count)
    .option('-o, --output-tokens <n>', 'completion tokens of the call, reasoning ones included', count)
    .option('--completion-tokens <n>', 'same as --output-tokens', count)
    .option('--cached-tokens <n>', 'how many of the input tokens were cache reads', count)
    .option('--cache-write-tokens <n>', 'how many of the input tokens were cache writes', count)
    .option('--cache-write-1h-tokens <n>', 'how many of the cache writes had a one-hour TTL (Anthropic)', count)
    .option('--reasoning-tokens <n>', 'how many of the output tokens were reasoning tokens', count)
    .option('--json', 'print JSON only')
    .addOption(pricingOption())
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage price --model gpt-4-turbo
  $ llm-usage price --model gpt-4-turbo --input-tokens 1412 --output-tokens 171
  $ llm-usage price --model claude-3-5-sonnet-20241022 -i 1520 --cached-tokens 1000 --cache-write-tokens 500 -o 100
  $ llm-usage price --model gpt-4o,gpt-4o-mini,claude-3-5-haiku-latest
  $ llm-usage price --provider anthropic sonnet
  $ llm-usage price --model us.anthropic.claude-3-haiku-20240307-v1:0 --json`,
    )
    .action(async (search: string | undefined, o: Record<string, unknown>) => {
      const { priceCommand } = await import('./commands/price.js');
      onlyOne(o, ['inputTokens', '--input-tokens'], ['promptTokens', '--prompt-tokens']);
      onlyOne(o, ['outputTokens', '--output-tokens'], ['completionTokens', '--completion-tokens']);
      priceCommand(
        search,
        {
          model: o.model as string[] | undefined,
          provider: o.provider as string | undefined,
          input: (o.inputTokens ?? o.promptTokens) as number | undefined,
          output: (o.outputTokens ?? o.completionTokens) as number | undefined,
          cached: o.cachedTokens as number | undefined,
          cacheWrite: o.cacheWriteTokens as number | undefined,
          cacheWrite1h: o.cacheWrite1hTokens as number | undefined,
          reasoning: o.reasoningTokens as number | undefined,
          json: o.json === true,
          pricing: o.pricing as string | undefined,
        },
        io,
      );
    });

  const callOptions = (cmd: Command) =>
    cmd
      .option('-m, --model <name>', 'the model to call', model, 'gpt-4o-mini')
      .option('-p, --provider <name>', 'openai, anthropic, azure, bedrock, google (alias gemini), or an OpenAI-compatible provider: groq, deepseek, mistral, x-ai, together, fireworks, cerebras, perplexity, moonshotai, openrouter, ollama (default: NAME for NAME/MODEL, azure for azure/DEPLOYMENT, google for google/MODEL and gemini-*, anthropic for claude-*, bedrock for Bedrock model ids and ARNs, else openai)', name)
      .option('--api <api>', 'chat, completions or responses; on Bedrock messages or converse; on Google gemini or chat (its OpenAI-compatible endpoint) (default: completions for legacy completion models, messages for Claude on Bedrock, converse for other Bedrock models, gemini on Google, else chat)', name)
      .option('--system <text>', 'a system prompt', text)
      .option('--max-tokens <n>', 'the most output tokens per call', positive)
      .option('--temperature <t>', 'sampling temperature, 0 to 2', temperature)
      .option('-n <n>', 'choices per call (chat and completions), at most 128', choices)
      .option('--repeat <n>', 'make each call this many times (at most 10,000 calls in all)', repeatCount, 1)
      .option('--base-url <url>', 'the API base URL (default: OPENAI_BASE_URL with /v1, ANTHROPIC_BASE_URL without; Azure: AZURE_OPENAI_ENDPOINT; Bedrock: AWS_ENDPOINT_URL_BEDROCK_RUNTIME, AWS_ENDPOINT_URL; Google: GOOGLE_GEMINI_BASE_URL, without /v1beta)', text)
      .option('--json', 'print only one JSON object on stdout: every call and the tally')
      .option('--verbose', 'show each HTTP attempt (retries included) and its request id on stderr')
      .option('--max-cost <usd>', 'refuse to send, exit 2, when the worst case (prompt + --max-tokens, or the context window, at the output price) exceeds this', dollars)
      .option('--dry-run', 'print the worst-case cost of the calls and send nothing')
      .addOption(tagOption())
      .addOption(pricingOption());
  const withLedger = (cmd: Command) => addLedgerOptions(cmd, true);

  const callOpts = (o: Record<string, unknown>) => ({
    model: o.model as string,
    provider: o.provider as string | undefined,
    api: o.api as string | undefined,
    system: o.system as string | undefined,
    maxTokens: o.maxTokens as number | undefined,
    temperature: o.temperature as number | undefined,
    n: o.n as number | undefined,
    baseUrl: o.baseUrl as string | undefined,
    repeat: o.repeat as number,
    json: o.json === true,
    verbose: o.verbose === true,
    pricing: o.pricing as string | undefined,
    maxCost: o.maxCost as number | undefined,
    dryRun: o.dryRun === true,
    ledger: o.ledger as string | false | undefined,
    logContent: o.logContent === true,
    tags: o.tag as string[] | undefined,
  });

  withLedger(callOptions(
    program
      .command('run')
      .summary('call a model once per prompt; print the replies, then the usage summary')
      .description(
        'Call a model once per prompt, in order (the prompt comes from stdin when none is given).\n' +
          'Each reply goes to stdout; then the summary (Tokens Used / Prompt / Completion / requests / cost) to stderr.\n' +
          'Keys come from OPENAI_API_KEY or ANTHROPIC_API_KEY; Azure OpenAI (--provider azure, where -m is the deployment) ' +
          'reads AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY (or AZURE_OPENAI_AD_TOKEN) and OPENAI_API_VERSION; ' +
          'Google\'s Gemini API (--provider google, google/MODEL, gemini-*) GEMINI_API_KEY or GOOGLE_API_KEY; ' +
          'an OpenAI-compatible provider (-m groq/MODEL) its own key variable (GROQ_API_KEY, ...; see the README).',
      )
      .argument('[prompts...]', 'one call per prompt'),
  ))
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage run "Tell me a joke"
  $ llm-usage run -m gpt-3.5-turbo-0125 "Tell me a joke" "Tell me another"
  $ llm-usage run -m claude-3-5-haiku-latest --repeat 3 "hello"
  $ llm-usage run -m azure/my-gpt4o-deployment "Tell me a joke"
  $ llm-usage run -m gemini-2.5-flash "Tell me a joke"
  $ llm-usage run -m groq/llama-3.1-8b-instant "Tell me a joke"
  $ llm-usage run -m openrouter/openai/gpt-4o "Tell me a joke"
  $ llm-usage run -m gpt-4o --max-tokens 500 --max-cost 0.01 "Summarise the news"
  $ llm-usage run -m gpt-4o --max-tokens 500 --dry-run "Summarise the news"
  $ echo "Summarise: ..." | llm-usage run -m gpt-4o --json`,
    )
    .action(async (prompts: string[], o: Record<string, unknown>) => {
      const { runCommand } = await import('./commands/run.js');
      await runCommand(prompts, { ...callOpts(o), streamUsage: false }, io);
    });

  withLedger(callOptions(
    program
      .command('stream')
      .summary('stream a reply to stdout as it arrives; then the usage summary')
      .description(
        'Stream a reply to stdout as it arrives, then print the summary on stderr.\n' +
          'With no prompt and nothing on stdin, the prompt is "Tell me a joke".\n' +
          'Where the provider reports no usage (a chat or legacy completion stream without --usage, a stream cut off),\n' +
          'tokens are counted with tiktoken and marked as estimated.',
      )
      .argument('[prompt]', 'the prompt (default: stdin, else "Tell me a joke")')
      .option('--usage', 'ask the provider to report usage in the stream (stream_options.include_usage; Anthropic and Responses streams always do)'),
  ))
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage stream --usage
  $ llm-usage stream -m gpt-3.5-turbo-instruct "Tell me a joke"
  $ llm-usage stream -m claude-3-5-sonnet-latest --system "Be brief" "Why is the sky blue?"
  $ llm-usage stream --api responses -m gpt-4o-mini --json "hello"`,
    )
    .action(async (prompt: string | undefined, o: Record<string, unknown>) => {
      const { streamCommand } = await import('./commands/stream.js');
      await streamCommand(prompt, { ...callOpts(o), streamUsage: o.usage === true }, io);
    });

  registerProxyCommands(program, io);

  program
    .command('report')
    .summary('what the ledger says you spent: by day, model, provider or command')
    .description(
      'Aggregate the ledger (every call made by run, stream, exec and proxy): requests, tokens and cost per group,\n' +
        'with the share that was estimated or unpriced, a total row, and a bar chart of cost per group.\n' +
        'Days are days in your time zone (TZ), as you mean "today"; --utc for UTC days.',
    )
    .option('--since <when>', 'from this date (2026-11-01), time, or age (30m, 24h, 7d, 2w)', text)
    .option('--until <when>', 'up to this date (inclusive), time, or age', text)
    .option('--by <group>', 'day, model, provider, command, or tag:KEY (the calls\' --tag KEY=VALUE)', name, 'day')
    .option('-m, --model <name>', 'only this model', name)
    .option('-p, --provider <name>', 'only this provider', name)
    .option('--json', 'print the rows as a JSON array')
    .option('--csv', 'print the rows as CSV')
    .option('--no-chart', 'leave out the bar chart')
    .option('--ledger <file>', 'read this ledger (default: LLM_USAGE_LEDGER, else the user data directory)', file)
    .option('--utc', 'days, and dates and times without an offset, in UTC rather than your time zone (TZ)')
    .option('--reprice', 'price every call again with the table in use now, and show how much that differs from what was recorded')
    .addOption(pricingOption())
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage report --since 7d
  $ llm-usage report --by model --since 2026-11-01 --until 2026-11-30
  $ llm-usage report --by command --provider anthropic --csv > spend.csv
  $ llm-usage report --by tag:project --since 30d
  $ llm-usage report --by model --reprice`,
    )
    .action(async (o: Record<string, unknown>) => {
      const { reportCommand } = await import('./commands/report.js');
      await reportCommand(
        {
          since: o.since as string | undefined,
          until: o.until as string | undefined,
          by: o.by as string,
          model: o.model as string | undefined,
          provider: o.provider as string | undefined,
          json: o.json === true,
          csv: o.csv === true,
          chart: o.chart !== false,
          ledger: o.ledger as string | undefined,
          utc: o.utc === true,
          reprice: o.reprice === true,
          pricing: o.pricing as string | undefined,
        },
        io,
      );
    });

  const pricing = program
    .command('pricing')
    .summary('which price table is in use, and `pricing update` to download the current one')
    .description(
      'Prices come from @pydantic/genai-prices: the table built in, or the one `pricing update` downloaded ' +
        '(used by every command when it is newer than the built-in one). --pricing FILE / LLM_USAGE_PRICING ' +
        'still layer on top. Nothing is downloaded unless you run `pricing update`.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage pricing
  $ llm-usage pricing update
  $ llm-usage pricing update --url https://mirror.example.com/genai-prices/data.json`,
    );
  pricing
    .command('status', { isDefault: true })
    .summary('which table is in use, where it came from, and how old it is (the default)')
    .option('--json', 'print JSON only')
    .action(async (o: Record<string, unknown>) => {
      const { pricingStatusCommand } = await import('./commands/pricing.js');
      pricingStatusCommand({ json: o.json === true }, io);
    });
  pricing
    .command('update')
    .summary("download upstream's current prices, check them, and use them from now on")
    .description(
      "Download genai-prices' live data (through HTTPS_PROXY when set), check it as the built-in table is checked, " +
        'keep our providers, merge our overlay, and save it in your data directory (atomically, with the URL, time ' +
        'and SHA-256). Prints the models added and prices changed, or "already current". A failed or bad download ' +
        'is one line, exit 1, and changes nothing.',
    )
    .option('--url <url>', "download from this URL (default: LLM_USAGE_PRICES_URL, else genai-prices' data.json on GitHub)", text)
    .option('--timeout <seconds>', 'give up after this many seconds', positive, 30)
    .option('--json', 'print JSON only')
    .action(async (o: Record<string, unknown>) => {
      const { pricingUpdateCommand } = await import('./commands/pricing.js');
      await pricingUpdateCommand({ url: o.url as string | undefined, timeout: o.timeout as number, json: o.json === true }, io);
    });

  program
    .command('count')
    .summary('count tokens offline with the model\'s tiktoken encoding, and the input cost')
    .description(
      'Count tokens offline with tiktoken, and price them as input. OpenAI models are counted exactly, with their ' +
        'own encoding; any other model (Claude, Gemini, Llama, ...) is counted with a stand-in encoding, and the ' +
        'count says it is approximate. Text comes from the arguments, --file, or stdin.\n\n--chat reads a JSON array ' +
        'of Chat Completions messages and applies the cookbook formula (3 tokens per message, +1 per name, +3 to ' +
        'prime the reply); tool calls and images make it approximate, and it says so.',
    )
    .argument('[text...]', 'the text to count')
    .option('-f, --file <file>', 'count this file (repeat for several)', collectFiles)
    .option('-m, --model <name>', 'the model whose encoding and price to use', model, 'gpt-4o-mini')
    .option('--chat', 'the input is a JSON array of chat messages')
    .option('--json', 'print JSON only')
    .addOption(pricingOption())
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage count "Tell me a joke"
  $ llm-usage count -m gpt-4-turbo --file prompt.txt --file context.md
  $ echo '[{"role":"user","content":"Tell me a joke"}]' | llm-usage count --chat -m gpt-3.5-turbo-0125
  $ cat notes.md | llm-usage count --json`,
    )
    .action(async (text: string[], o: Record<string, unknown>) => {
      const { countCommand } = await import('./commands/count.js');
      await countCommand(
        text,
        { file: o.file as string[] | undefined, model: o.model as string, chat: o.chat === true, json: o.json === true, pricing: o.pricing as string | undefined },
        io,
      );
    });

  return program;
}

/** Two spellings of one option: giving both would keep one and silently drop the other. */
function onlyOne(o: Record<string, unknown>, [a, aFlag]: [string, string], [b, bFlag]: [string, string]): void {
  if (o[a] !== undefined && o[b] !== undefined) throw new UsageError(`${bFlag} is another name for ${aFlag}: give only one of them`);
}

/** The entry point: the single catch that turns any failure into one stderr line and an exit code. */
export async function main(argv: string[]): Promise<void> {
  const io = processIo();
  // A closed pipe (llm-usage price | head) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  try {
    await buildProgram(io).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is bad usage.
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
      return;
    }
    const { exitCode, message } = describeFailure(err);
    if (message) io.err(`llm-usage: ${message}\n`);
    process.exitCode = exitCode;
  }
}
