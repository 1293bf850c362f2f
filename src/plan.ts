import { UsageError } from './errors.js';
import { resolveModel } from './pricing/resolve.js';
import type { PriceTable } from './pricing/types.js';
import { PROVIDERS, providerRow } from './providers/descriptors.js';
import type { Api, CallSpec, ProviderName } from './providers/types.js';

/** What run and stream accept, before it becomes one CallSpec per call. */
export interface CallOptions {
  model: string;
  provider?: string;
  api?: string;
  system?: string;
  maxTokens?: number;
  temperature?: number;
  n?: number;
  baseUrl?: string;
  stream: boolean;
  streamUsage: boolean;
}

/** Most calls one run or stream makes: each is a row of the summary and, with --dry-run, of its table. */
export const MAX_CALLS = 10_000;

/**
 * The provider a call goes to: --provider (or an alias), else the row whose model names the
 * model selects (NAME/MODEL a compatible provider, azure/DEPLOYMENT azure, google/MODEL and
 * gemini-* google, claude-* anthropic, a Bedrock model id or ARN bedrock), else the default row.
 */
export function providerOf(opts: Pick<CallOptions, 'provider' | 'model'>): ProviderName {
  const { provider: flag, model } = opts;
  if (flag === undefined) return (PROVIDERS.find((row) => row.selects?.(model)) ?? PROVIDERS.find((row) => !row.selects))!.name;
  const chosen = PROVIDERS.find((row) => row.name === flag || row.aliases?.includes(flag));
  if (chosen?.takesAnyModelName) return chosen.name;
  for (const row of PROVIDERS) {
    if (row !== chosen && row.refusesOtherProvider && row.prefixedModel?.(model) != null) throw new UsageError(row.refusesOtherProvider(model, flag));
  }
  if (chosen) return chosen.name;
  const names = PROVIDERS.map((row) => (row.aliases ? `${row.name} (${row.aliases.join(', ')})` : row.name));
  throw new UsageError(`--provider must be one of ${names.join(', ')}, not "${flag}" (other OpenAI-compatible servers: --provider openai --base-url URL)`);
}

/** The API flavour: --api if the provider serves it, else the provider's default for the model (and --base-url). */
export function apiOf(opts: Pick<CallOptions, 'api' | 'model' | 'baseUrl'>, provider: ProviderName): Api {
  const row = providerRow(provider);
  if (opts.api === undefined) return row.defaultApi(opts.model, opts.baseUrl);
  if (row.apis.includes(opts.api as Api)) return opts.api as Api;
  throw new UsageError(row.refusedApi(opts.api));
}

/**
 * The base URL: --base-url, else the provider's base-URL variables (OPENAI_BASE_URL includes /v1,
 * ANTHROPIC_BASE_URL does not), else undefined: the SDK's own default (Bedrock's is the region's
 * endpoint). A compatible provider's is its own SDK's variable, else its public one (compat.ts).
 */
export function baseUrlOf(provider: ProviderName, flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const row = providerRow(provider);
  if (flag !== undefined) return checkedBaseUrl(flag, '--base-url', row.exampleBaseUrl);
  // An empty variable is an unset one, as the SDKs read it.
  const name = row.baseUrlVars.find((name) => env[name]?.trim());
  const found = row.envBaseUrl?.(env) ?? (name ? { url: env[name] as string, source: name } : undefined);
  return found && checkedBaseUrl(found.url, found.source, row.exampleBaseUrl);
}

/**
 * A base URL the SDKs can call: http or https, with a host. Anything else is bad input (exit 2)
 * before anything is sent, not a failed call. Credentials in it are never echoed.
 */
function checkedBaseUrl(value: string, source: string, example: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    // Never echo a password that was meant for the URL's user:password@ part.
    throw new UsageError(`${source} "${value.replace(/\/\/[^/]*@/, '//***@')}" is not a URL: give one such as ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source}: ${url.protocol}// is not supported: give an http:// or https:// URL such as ${example}`);
  }
  if (!url.hostname) throw new UsageError(`${source} has no host: give one such as ${example}`);
  if (url.hash) throw new UsageError(`${source} must not have a #fragment: give one such as ${example}`);
  return value.trim().replace(/\/+$/, '');
}

/**
 * One CallSpec per prompt; a missing key is a UsageError before anything is sent (unless
 * `requireKey` is false: a dry run sends nothing).
 */
export function planCalls(prompts: string[], opts: CallOptions, env: NodeJS.ProcessEnv, requireKey = true): CallSpec[] {
  const provider = providerOf(opts);
  const row = providerRow(provider);
  const api = apiOf(opts, provider);
  if ((opts.n ?? 1) > 1 && (api === 'messages' || api === 'responses' || api === 'converse')) {
    throw new UsageError(`-n ${opts.n}: several choices per call are only for the chat, completions and gemini APIs`);
  }
  const own = row.connect?.(opts.baseUrl, env, requireKey);
  // Bedrock signs with AWS credentials, found (or missed) asynchronously by readyToSend.
  const [keyVar, otherKeyVar] = row.keyVars;
  const apiKey = own ? own.apiKey : row.keyOf ? row.keyOf(env) : keyVar ? (env[keyVar] ?? '') : '';
  if (keyVar && !apiKey && requireKey) throw new UsageError(`no API key: set the ${keyVar} environment variable${otherKeyVar ? ` (or ${otherKeyVar})` : ''}`);
  const base = own ? own.baseURL : baseUrlOf(provider, opts.baseUrl, env);
  const baseURL = row.apiBaseUrl ? row.apiBaseUrl(api, base) : base;
  return prompts.map((prompt) => ({
    provider,
    api,
    model: row.prefixedModel?.(opts.model) ?? opts.model,
    prompt,
    system: opts.system,
    maxTokens: opts.maxTokens,
    temperature: opts.temperature,
    n: opts.n,
    stream: opts.stream,
    // Anthropic and Responses streams always carry usage; chat and legacy completions only when asked.
    streamUsage: opts.streamUsage,
    apiKey,
    ...(baseURL ? { baseURL } : {}),
    ...(own?.azure ? { azure: own.azure } : {}),
  }));
}

/**
 * `--provider anthropic -m gpt-4o` sends an OpenAI model to Anthropic's own API, and would record
 * OpenAI's price for it: a contradiction, refused before anything is sent. With a base URL (a
 * gateway that may well serve it) the call is the user's to make. An Azure deployment's name
 * says nothing of the model behind it, and Bedrock and the compatible providers serve many
 * vendors' models: their rows refuse none.
 */
export function checkProviderServes(spec: Pick<CallSpec, 'provider' | 'model' | 'baseURL'>, explicit: boolean, table: PriceTable): void {
  const other = providerRow(spec.provider).refusesModelsOf;
  if (!explicit || spec.baseURL !== undefined || other === undefined) return;
  const found = resolveModel(table, spec.model);
  if (found?.provider.id !== other || resolveModel(table, spec.model, spec.provider)) return;
  throw new UsageError(
    `--provider ${spec.provider} does not serve ${spec.model} (an ${other} model): drop --provider, or give --base-url for a server that serves it`,
  );
}
