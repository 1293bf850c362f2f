import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { describeFailure } from './errors.js';
import { processIo, type Io } from './io.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function count(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number of tokens, such as 1412');
  return Number(value);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const pricingOption = () =>
  new Option('--pricing <file>', 'a price file merged over the built-in table (same schema as pricing.json); also LLM_USAGE_PRICING');

/**
 * Builds the program. Command modules are imported only when their command runs, so
 * `price` never loads an SDK or a tokenizer.
 */
export function buildProgram(io: Io): Command {
  const program = new Command('llm-usage')
    .description('Count and cost LLM calls: tokens used, prompt, completion and cost, saying where every number came from.')
    .version(pkg.version, '-v, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Commander's parse errors become our one line: what is wrong and where to look.
      outputError: (s, write) => write(`llm-usage: ${s.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see llm-usage --help)\n`),
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
    .option('-m, --model <names>', 'model name(s): repeat or separate with commas to compare side by side', collect)
    .option('-p, --provider <id>', 'look the model up at this provider only (openai, anthropic, azure, aws, google, ...)')
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

  return program;
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
