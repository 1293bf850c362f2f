import type { ProviderName } from '../providers/types.js';
/**
 * Every name llm-usage exports, in one place: the OpenTelemetry GenAI semantic conventions
 * (v1.41, still marked Development, so a rename upstream is one edit here), the cost metric of
 * the open proposal, and our own names under `llm_usage.`. Nothing here imports the SDK.
 */

/** The semantic conventions these names follow, sent as the instrumentation scope's schema URL. */
export const SCHEMA_URL = 'https://opentelemetry.io/schemas/1.41.0';

export const METRIC = {
  /** Histogram, `{token}`, one point per token type. */
  tokenUsage: 'gen_ai.client.token.usage',
  /** Histogram, seconds. */
  operationDuration: 'gen_ai.client.operation.duration',
  /** Histogram, USD: only calls with a known cost. */
  operationCost: 'gen_ai.client.operation.cost',
  /** Counter: calls that have no price, so no cost point. */
  unpricedCalls: 'llm_usage.unpriced_calls',
} as const;

export const UNIT = { tokens: '{token}', seconds: 's', usd: 'USD', calls: '{call}' } as const;

export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  tokenType: 'gen_ai.token.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  usageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  usageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  /** Ours: the call's cost in USD (absent when unpriced). */
  costUsd: 'llm_usage.cost_usd',
  /** Ours: where the usage came from: reported, estimated or none. */
  usageSource: 'llm_usage.usage_source',
  /** Ours: the run id, the ledger's run_id. */
  runId: 'llm_usage.run_id',
  /** Ours: run, stream, exec or proxy. */
  command: 'llm_usage.command',
  /** Ours: a --tag KEY=VALUE becomes `llm_usage.tag.KEY`. */
  tagPrefix: 'llm_usage.tag.',
} as const;

export const TOKEN_TYPE = { input: 'input', output: 'output' } as const;

/** Recommended bucket boundaries of the GenAI conventions. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** Ours (the proposal names none): a hundredth of a cent up to ten dollars a call. */
export const COST_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** gen_ai.operation.name for each API a record can come from. */
export const OPERATION = {
  chat: 'chat',
  responses: 'chat',
  messages: 'chat',
  converse: 'chat',
  // The conventions' own name for Gemini's generateContent.
  gemini: 'generate_content',
  completions: 'text_completion',
  embeddings: 'embeddings',
} as const;

/** gen_ai.provider.name for our providers (the conventions' well-known values). */
export const PROVIDER: Record<ProviderName, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  azure: 'azure.ai.openai',
  bedrock: 'aws.bedrock',
  google: 'gcp.gemini',
  // The compatible providers: the conventions' values where they name one (groq, deepseek,
  // mistral_ai, x_ai, perplexity), else our provider id.
  groq: 'groq',
  deepseek: 'deepseek',
  mistral: 'mistral_ai',
  'x-ai': 'x_ai',
  perplexity: 'perplexity',
  together: 'together',
  fireworks: 'fireworks',
  cerebras: 'cerebras',
  moonshotai: 'moonshotai',
  openrouter: 'openrouter',
  ollama: 'ollama',
};

/** The Prometheus names of `proxy`'s /metrics (the text format, through prom-client). */
export const PROM = {
  tokens: 'llm_usage_tokens_total',
  tokenDetails: 'llm_usage_token_details_total',
  cost: 'llm_usage_cost_usd_total',
  unpriced: 'llm_usage_unpriced_requests_total',
  requests: 'llm_usage_requests_total',
  duration: 'llm_usage_request_duration_seconds',
  proxyRequests: 'llm_usage_proxy_requests_total',
} as const;
