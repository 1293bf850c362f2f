import { UsageError } from './errors.js';
import { resolveModel } from './pricing/resolve.js';
import type { PriceTable } from './pricing/types.js';
import { AZURE_KEY_VAR, azureConnection, azureDeploymentOf } from './providers/azure.js';
import { BEDROCK_ENDPOINT_VARS, bedrockApiOf, isBedrockModel } from './providers/bedrock.js';
import { COMPAT_NAMES, compatBaseUrl, compatModelOf, compatRow, isCompat } from './providers/compat.js';
import { GOOGLE_BASE_URL_VAR, GOOGLE_KEY_VAR, GOOGLE_OPENAI_PATH, googleKeyOf, googleModelOf, isGoogleModel } from './providers/google.js';
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

// Google's key has two names (googleKeyOf reads both).
const KEY_VAR: Record<string, string | null> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY', azure: AZURE_KEY_VAR, bedrock: null, google: GOOGLE_KEY_VAR };

/** The variable a provider's key is read from; null where it takes none (Bedrock signs, ollama is local). */
export function keyVarOf(provider: ProviderName): string | null {
  return isCompat(provider) ? compatRow(provider).keyVar : (KEY_VAR[provider] ?? null);
}

// Models served only by the legacy completions endpoint.
const LEGACY_COMPLETION = /^(gpt-3\.5-turbo-instruct|davinci-002|babbage-002|text-(davinci|curie|babbage|ada)-\d{3}|davinci|curie|babbage|ada)(\b|$)/;

export function isLegacyCompletionModel(model: string): boolean {
  return LEGACY_COMPLETION.test(model.replace(/^ft:/, ''));
}

/**
 * The provider a call goes to: --provider, else NAME/MODEL is the compatible provider NAME,
 * azure/DEPLOYMENT azure, google/MODEL and gemini-* google, claude-* anthropic, a Bedrock model
 * id or ARN bedrock, the rest openai.
 */
export function providerOf(opts: Pick<CallOptions, 'provider' | 'model'>): ProviderName {
  // An OpenAI-compatible provider: --provider NAME, or NAME/MODEL (providers/compat.ts).
  const compat = opts.provider === undefined ? compatModelOf(opts.model) : null;
  if (compat) return compat.provider;
  if (opts.provider !== undefined && isCompat(opts.provider)) return opts.provider;
  const deployment = azureDeploymentOf(opts.model) !== null;
  const googlePrefix = googleModelOf(opts.model) !== null;
  if (opts.provider === undefined) {
    if (deployment) return 'azure';
    if (isGoogleModel(opts.model)) return 'google';
    if (/^claude-/i.test(opts.model)) return 'anthropic';
    return isBedrockModel(opts.model) ? 'bedrock' : 'openai';
  }
  if (deployment && opts.provider !== 'azure') throw new UsageError(`--model ${opts.model} is an Azure deployment: drop --provider ${opts.provider}, or the azure/ prefix`);
  // gemini is the alias users type for Google's Gemini API.
  const provider = opts.provider === 'gemini' ? 'google' : opts.provider;
  if (googlePrefix && provider !== 'google') throw new UsageError(`--model ${opts.model} names Google's Gemini API: drop --provider ${opts.provider}, or the ${opts.model.split('/')[0]}/ prefix`);
  if (provider === 'openai' || provider === 'anthropic' || provider === 'azure' || provider === 'bedrock' || provider === 'google') return provider;
  throw new UsageError(`--provider must be one of openai, anthropic, azure, bedrock, google (gemini), ${COMPAT_NAMES.join(', ')}, not "${opts.provider}" (other OpenAI-compatible servers: --provider openai --base-url URL)`);
}

/** The API flavour: --api, else legacy completion models use completions, Anthropic messages, the rest chat. */
export function apiOf(opts: Pick<CallOptions, 'api' | 'model'>, provider: ProviderName): Api {
  if (provider === 'azure' && opts.api === 'messages') throw new UsageError('--api messages is Anthropic\'s; Azure OpenAI deployments use chat, completions or responses');
  if (provider === 'bedrock') {
    if (opts.api === undefined) return bedrockApiOf(opts.model);
    if (opts.api === 'messages' || opts.api === 'converse') return opts.api;
    throw new UsageError(`--api on Bedrock is messages (Claude, through InvokeModel) or converse, not "${opts.api}"`);
  }
  if (provider === 'google') {
    // chat: Gemini's OpenAI-compatible endpoint, through the OpenAI SDK.
    if (opts.api === undefined || opts.api === 'gemini' || opts.api === 'chat') return opts.api ?? 'gemini';
    throw new UsageError(`--api on Google is gemini (generateContent) or chat (its OpenAI-compatible endpoint), not "${opts.api}"`);
  }
  if (opts.api === 'converse') throw new UsageError('--api converse is Bedrock\'s: give a Bedrock model id, or --provider bedrock');
  if (opts.api === 'gemini') throw new UsageError('--api gemini is Google\'s: give a gemini-* model, or --provider google');
  if (isCompat(provider)) {
    // Compatible providers speak chat, and some legacy completions; none of them OpenAI's Responses.
    const completions = compatRow(provider).completions;
    if (opts.api === undefined || opts.api === 'chat') return 'chat';
    if (opts.api === 'completions' && completions) return 'completions';
    throw new UsageError(`--api on ${provider} is chat${completions ? ' or completions' : ''}, not "${opts.api}"`);
  }
  if (provider === 'anthropic') {
    if (opts.api !== undefined && opts.api !== 'messages') throw new UsageError(`--api ${opts.api} is an OpenAI API; Anthropic models use messages`);
    return 'messages';
  }
  if (opts.api === undefined) return isLegacyCompletionModel(opts.model) ? 'completions' : 'chat';
  if (opts.api === 'chat' || opts.api === 'completions' || opts.api === 'responses') return opts.api;
  throw new UsageError(`--api must be chat, completions or responses, not "${opts.api}"`);
}

/** The variables a base URL comes from after --base-url, first set wins. */
const BASE_URL_VARS: Record<string, readonly string[]> = {
  openai: ['OPENAI_BASE_URL'],
  anthropic: ['ANTHROPIC_BASE_URL'],
  // Azure's endpoint is read by azureConnection (providers/azure.ts), with its key and version.
  azure: ['AZURE_OPENAI_ENDPOINT'],
  bedrock: BEDROCK_ENDPOINT_VARS,
  // The @google/genai SDK's; without the API version, which the SDK adds.
  google: [GOOGLE_BASE_URL_VAR],
};

/**
 * The base URL: --base-url, else OPENAI_BASE_URL (which includes /v1) or ANTHROPIC_BASE_URL
 * (which does not, the Anthropic SDK's convention) or Bedrock's AWS_ENDPOINT_URL_BEDROCK_RUNTIME
 * then AWS_ENDPOINT_URL, else the SDK's own default (Bedrock's is the region's endpoint).
 */
export function baseUrlOf(provider: ProviderName, flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return checkedBaseUrl(flag, '--base-url', provider);
  if (isCompat(provider)) {
    const { url, source } = compatBaseUrl(provider, env);
    return checkedBaseUrl(url, source, provider);
  }
  for (const name of BASE_URL_VARS[provider] ?? []) {
    // An empty variable is an unset one, as the SDKs read it.
    const value = env[name];
    if (value?.trim()) return checkedBaseUrl(value, name, provider);
  }
  return undefined;
}

const EXAMPLE_BASE_URL: Record<string, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  azure: 'https://RESOURCE.openai.azure.com',
  bedrock: 'https://bedrock-runtime.us-east-1.amazonaws.com',
  google: 'https://generativelanguage.googleapis.com',
};

/**
 * A base URL the SDKs can call: http or https, with a host. Anything else is bad input (exit 2)
 * before anything is sent, not a failed call. Credentials in it are never echoed.
 */
function checkedBaseUrl(value: string, source: string, provider: ProviderName): string {
  const example = isCompat(provider) ? compatRow(provider).baseUrl : (EXAMPLE_BASE_URL[provider] as string);
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
  // A --base-url that is Gemini's OpenAI-compatible endpoint (…/v1beta/openai) speaks chat.
  const googleCompat = provider === 'google' && opts.api === undefined && /\/openai\/*$/.test(opts.baseUrl ?? '');
  const api = googleCompat ? 'chat' : apiOf(opts, provider);
  if ((opts.n ?? 1) > 1 && (api === 'messages' || api === 'responses' || api === 'converse')) {
    throw new UsageError(`-n ${opts.n}: several choices per call are only for the chat, completions and gemini APIs`);
  }
  // Azure: --model names the deployment; its endpoint, key and API version are its own (providers/azure.ts).
  const azure = provider === 'azure' ? azureConnection(opts.baseUrl, env, requireKey) : null;
  const keyVar = keyVarOf(provider);
  // Bedrock signs with AWS credentials, found (or missed) asynchronously by readyToSend.
  // A keyless local server (ollama) still gets a placeholder: the openai SDK refuses to send without one.
  const apiKey = azure ? azure.apiKey : provider === 'google' ? (googleKeyOf(env)?.value ?? '') : keyVar ? (env[keyVar] ?? '') : isCompat(provider) ? provider : '';
  if (keyVar && !apiKey && requireKey) throw new UsageError(`no API key: set the ${keyVar} environment variable${provider === 'google' ? ' (or GOOGLE_API_KEY)' : ''}`);
  const baseURL = azure ? azure.endpoint : googleBaseUrl(provider, api, baseUrlOf(provider, opts.baseUrl, env));
  const model = azure ? (azureDeploymentOf(opts.model) ?? opts.model) : provider === 'google' ? (googleModelOf(opts.model) ?? opts.model) : compatModelFor(provider, opts.model);
  return prompts.map((prompt) => ({
    provider,
    api,
    model,
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
    ...(azure ? { azure: { apiVersion: azure.apiVersion, adToken: azure.adToken } } : {}),
  }));
}

/** The model a compatible provider is asked for: NAME/MODEL without its NAME/ (once: openrouter/openai/gpt-4o asks for openai/gpt-4o). */
function compatModelFor(provider: ProviderName, model: string): string {
  if (!isCompat(provider)) return model;
  const prefixed = compatModelOf(model);
  return prefixed?.provider === provider ? prefixed.model : model;
}

/**
 * Google's base URL for an API: the Gemini API's own (the SDK's default when none is set), or,
 * for chat, its OpenAI-compatible endpoint under it.
 */
function googleBaseUrl(provider: ProviderName, api: Api, base: string | undefined): string | undefined {
  if (provider !== 'google' || api !== 'chat' || (base && /\/openai$/.test(base))) return base;
  return `${base ?? EXAMPLE_BASE_URL.google}${GOOGLE_OPENAI_PATH}`;
}

/**
 * `--provider anthropic -m gpt-4o` sends an OpenAI model to Anthropic's own API, and would record
 * OpenAI's price for it: a contradiction, refused before anything is sent. With a base URL (a
 * gateway that may well serve it) the call is the user's to make.
 */
export function checkProviderServes(spec: Pick<CallSpec, 'provider' | 'model' | 'baseURL'>, explicit: boolean, table: PriceTable): void {
  // An Azure deployment's name says nothing of the model behind it; Bedrock serves many vendors'
  // models, under its own ids: Bedrock itself says which it has.
  if (!explicit || spec.baseURL !== undefined || spec.provider === 'azure' || spec.provider === 'bedrock' || isCompat(spec.provider)) return;
  const other: ProviderName = spec.provider === 'openai' ? 'anthropic' : 'openai';
  const found = resolveModel(table, spec.model);
  if (found?.provider.id !== other || resolveModel(table, spec.model, spec.provider)) return;
  throw new UsageError(
    `--provider ${spec.provider} does not serve ${spec.model} (an ${other} model): drop --provider, or give --base-url for a server that serves it`,
  );
}
