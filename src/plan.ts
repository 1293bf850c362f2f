import { UsageError } from './errors.js';
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

const KEY_VAR: Record<ProviderName, string> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' };

// Models served only by the legacy completions endpoint.
const LEGACY_COMPLETION = /^(gpt-3\.5-turbo-instruct|davinci-002|babbage-002|text-(davinci|curie|babbage|ada)-\d{3}|davinci|curie|babbage|ada)(\b|$)/;

export function isLegacyCompletionModel(model: string): boolean {
  return LEGACY_COMPLETION.test(model.replace(/^ft:/, ''));
}

/** The provider a call goes to: --provider, else claude-* is anthropic, else openai. */
export function providerOf(opts: Pick<CallOptions, 'provider' | 'model'>): ProviderName {
  if (opts.provider === undefined) return /^claude-/i.test(opts.model) ? 'anthropic' : 'openai';
  if (opts.provider === 'openai' || opts.provider === 'anthropic') return opts.provider;
  throw new UsageError(`--provider must be openai or anthropic, not "${opts.provider}" (other OpenAI-compatible servers: --provider openai --base-url URL)`);
}

/** The API flavour: --api, else legacy completion models use completions, Anthropic messages, the rest chat. */
export function apiOf(opts: Pick<CallOptions, 'api' | 'model'>, provider: ProviderName): Api {
  if (provider === 'anthropic') {
    if (opts.api !== undefined && opts.api !== 'messages') throw new UsageError(`--api ${opts.api} is an OpenAI API; Anthropic models use messages`);
    return 'messages';
  }
  if (opts.api === undefined) return isLegacyCompletionModel(opts.model) ? 'completions' : 'chat';
  if (opts.api === 'chat' || opts.api === 'completions' || opts.api === 'responses') return opts.api;
  throw new UsageError(`--api must be chat, completions or responses, not "${opts.api}"`);
}

/**
 * The base URL: --base-url, else OPENAI_BASE_URL (which includes /v1) or ANTHROPIC_BASE_URL
 * (which does not, the Anthropic SDK's convention), else the SDK's own default.
 */
export function baseUrlOf(provider: ProviderName, flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const url = flag ?? (provider === 'openai' ? env.OPENAI_BASE_URL : env.ANTHROPIC_BASE_URL);
  return url ? url.replace(/\/+$/, '') : undefined;
}

/**
 * One CallSpec per prompt; a missing key is a UsageError before anything is sent (unless
 * `requireKey` is false: a dry run sends nothing).
 */
export function planCalls(prompts: string[], opts: CallOptions, env: NodeJS.ProcessEnv, requireKey = true): CallSpec[] {
  const provider = providerOf(opts);
  const api = apiOf(opts, provider);
  if ((opts.n ?? 1) > 1 && (api === 'messages' || api === 'responses')) {
    throw new UsageError(`-n ${opts.n}: several choices per call are only for the chat and completions APIs`);
  }
  const keyVar = KEY_VAR[provider];
  const apiKey = env[keyVar] ?? '';
  if (!apiKey && requireKey) throw new UsageError(`no API key: set the ${keyVar} environment variable`);
  const baseURL = baseUrlOf(provider, opts.baseUrl, env);
  return prompts.map((prompt) => ({
    provider,
    api,
    model: opts.model,
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
  }));
}
