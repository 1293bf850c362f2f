import { InvalidArgumentError, type Command } from 'commander';
import type { MeteringOptions } from './commands/exec.js';
import { addLedgerOptions, dollars, file, pricingOption, tagOption, text } from './cli-options.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';

/** The port `llm-usage proxy` listens on by default: fixed, so an IDE's setting keeps working. */
export const DEFAULT_PROXY_PORT = 4747;

function port(value: string): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535 (0: any free port)');
  return n;
}

const meteringOptions = (cmd: Command) => {
  cmd
    .option('--max-cost <usd>', 'refuse further calls (HTTP 429, in the provider\'s format) once the calls so far cost this many dollars', dollars)
    // Checked with the variables they stand for, in one place (proxy/routes.ts).
    .option('--openai-upstream <url>', 'where OpenAI calls go (default: OPENAI_BASE_URL, else https://api.openai.com/v1)', text)
    .option('--anthropic-upstream <url>', 'where Anthropic calls go (default: ANTHROPIC_BASE_URL, else https://api.anthropic.com)', text)
    .option('--azure-upstream <url>', 'where Azure OpenAI calls go: the resource endpoint (default: AZURE_OPENAI_ENDPOINT, else they are refused)', text)
    .option('--bedrock-upstream <url>', 'where Bedrock calls go (default: AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else AWS_ENDPOINT_URL, else https://bedrock-runtime.{region}.amazonaws.com for the region each call is signed for)', text)
    .option('--google-upstream <url>', 'where Gemini API calls go: its base URL, without /v1beta (default: GOOGLE_GEMINI_BASE_URL, else https://generativelanguage.googleapis.com)', text)
    .option('--upstream <name=url>', 'where an OpenAI-compatible provider\'s calls go, served on the path /NAME/v1 (repeatable; e.g. groq=https://api.groq.com/openai/v1; default: its public base URL, ollama\'s OLLAMA_HOST)', (value: string, previous: string[] = []) => [...previous, text(value)])
    .option('--json', 'print the summary as one JSON object (the same as run --json) on stderr')
    .option('--report <file>', 'also write the JSON summary to FILE', file)
    .addOption(tagOption())
    .addOption(pricingOption());
  // The proxy keeps no prompts or replies, so there is no --log-content.
  return addLedgerOptions(cmd, false);
};

// Options of exec that take a value, to tell them from CMD when reading the raw arguments.
const EXEC_VALUED = new Set(['--max-cost', '--upstream', '--openai-upstream', '--anthropic-upstream', '--azure-upstream', '--bedrock-upstream', '--google-upstream', '--providers', '--report', '--pricing', '--ledger', '--tag']);

/**
 * True when CMD has option-like arguments and no `--` came before it: some of them could have
 * been read as exec's own (`exec python app.py --json`), so exec asks for the `--`.
 */
export function needsSeparator(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') return false;
    if (arg.startsWith('-')) {
      if (EXEC_VALUED.has(arg)) i++;
      continue;
    }
    return args.slice(i + 1).some((a) => a.startsWith('-'));
  }
  return false;
}

/** Registers `exec` and `proxy`. Their modules load only when they run. */
export function registerProxyCommands(program: Command, io: Io): void {
  meteringOptions(
    program
      .command('exec')
      .usage('[options] -- CMD [ARGS...]')
      .summary('run a program and meter every LLM call it makes, in any language; then the usage summary')
      .description(
        'Run CMD with its LLM clients pointed at a metering proxy on 127.0.0.1 (OPENAI_BASE_URL, OPENAI_API_BASE, ' +
          'ANTHROPIC_BASE_URL, AZURE_OPENAI_ENDPOINT, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, ANTHROPIC_BEDROCK_BASE_URL, GOOGLE_GEMINI_BASE_URL, ' +
          'GROQ_BASE_URL, TOGETHER_BASE_URL, CEREBRAS_BASE_URL), which forwards every call where it would have gone (your own base URLs, else the ' +
          "providers') and reads its usage. When CMD exits, the summary goes to stderr (stdout is CMD's) and " +
          "llm-usage exits with CMD's exit code.\n\n" +
          'Keys pass through untouched and are never stored or printed. An AWS request is forwarded only if its ' +
          'signature verifies against your AWS credentials (the AWS SDK\'s default chain), and is signed again for Bedrock. ' +
          'Ctrl-C and SIGTERM go to CMD.\n' +
          "Exit codes: CMD's own; 127 when CMD is not found, 126 when it cannot be executed; 2 for bad options.",
      )
      .argument('[CMD...]', 'the program to run and its arguments, after --')
      .option('--providers <list>', "set only these providers' variables for CMD: openai, anthropic, azure, bedrock, google, groq, together, cerebras (default: all)", text)
      // Unknown options reach the action, which names them or asks for the --.
      .allowUnknownOption(),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage exec -- python agent.py
  $ llm-usage exec --json -- node app.mjs --verbose
  $ llm-usage exec --max-cost 0.50 --report usage.json -- python -m my_agent
  $ llm-usage exec --openai-upstream http://localhost:11434/v1 -- python chat.py
  $ llm-usage exec --providers azure -- python azure_app.py     # AzureOpenAI(endpoint=...) and OPENAI_BASE_URL clash`,
    )
    .action(async (command: string[], o: Record<string, unknown>, cmd: Command) => {
      const raw = (cmd.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs ?? [];
      const first = command[0];
      if (first?.startsWith('-')) throw new UsageError(`exec: unknown option '${first}' (see llm-usage exec --help)`);
      if (needsSeparator(raw.slice(raw.indexOf('exec') + 1))) {
        throw new UsageError(`exec: put -- before the command, so its options stay its own: llm-usage exec [options] -- ${command.join(' ')}`);
      }
      const { execCommand } = await import('./commands/exec.js');
      await execCommand(command, { ...meteringOpts(o), providers: o.providers as string | undefined }, io);
    });

  meteringOptions(
    program
      .command('proxy')
      .summary('run the metering proxy as a server, for tools that cannot be wrapped (IDEs, notebooks)')
      .description(
        'Serve the metering proxy until Ctrl-C: point clients at the base URLs it prints on stdout. Each call gets ' +
          'one line on stderr (tokens, cost, running total); Ctrl-C or SIGTERM prints the summary and exits 0.\n\n' +
          'Listens on 127.0.0.1 unless --host says otherwise, forwards only to the configured upstreams, never logs ' +
          'request or response bodies, and never stores or prints keys.',
      )
      .option('--port <n>', 'the port to listen on (0: any free port)', port, DEFAULT_PROXY_PORT)
      .option('--host <address>', 'the address to listen on; anything but loopback lets other machines send calls through it', text)
      .option('--quiet', 'no line per call; only the summary at the end')
      .option('--no-metrics', 'do not serve GET /metrics (by default the proxy\'s port answers it for Prometheus: tokens, cost, requests, durations by provider and model)')
      .option('--metrics-tags', 'the --tag tags as labels of /metrics (tag_KEY)'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ llm-usage proxy
  $ llm-usage proxy --port 8080 --max-cost 5
  $ llm-usage proxy --tag team=search     # then scrape http://127.0.0.1:${DEFAULT_PROXY_PORT}/metrics
  $ OPENAI_BASE_URL=http://127.0.0.1:${DEFAULT_PROXY_PORT}/v1 jupyter lab     # in another terminal`,
    )
    .action(async (o: Record<string, unknown>) => {
      const { proxyCommand } = await import('./commands/proxy.js');
      await proxyCommand(
        { ...meteringOpts(o), port: o.port as number, host: o.host as string | undefined, quiet: o.quiet === true, metrics: o.metrics !== false, metricsTags: o.metricsTags === true },
        io,
      );
    });
}

/** The options exec and proxy share, from commander's parse. */
function meteringOpts(o: Record<string, unknown>): MeteringOptions {
  return {
    json: o.json === true,
    report: o.report as string | undefined,
    maxCost: o.maxCost as number | undefined,
    openaiUpstream: o.openaiUpstream as string | undefined,
    anthropicUpstream: o.anthropicUpstream as string | undefined,
    azureUpstream: o.azureUpstream as string | undefined,
    bedrockUpstream: o.bedrockUpstream as string | undefined,
    googleUpstream: o.googleUpstream as string | undefined,
    upstream: o.upstream as string[] | undefined,
    pricing: o.pricing as string | undefined,
    ledger: o.ledger as string | false | undefined,
    tags: o.tag as string[] | undefined,
  };
}
