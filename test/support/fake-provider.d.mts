// Types for ./fake-provider.mjs: a local fake of the OpenAI, Azure OpenAI and Anthropic HTTP APIs.

/** The token counts the fake provider REPORTS, mapped onto each wire format. */
export interface FakeUsage {
  /** Every prompt token, cached included (OpenAI prompt_tokens / input_tokens). Anthropic's wire input_tokens = input - cached - cacheWrite. */
  input?: number;
  /** Every completion token, reasoning included. */
  output?: number;
  /** Prompt tokens read from cache (OpenAI cached_tokens, Anthropic cache_read_input_tokens). */
  cached?: number;
  /** Prompt tokens written to cache (Anthropic cache_creation_input_tokens). */
  cacheWrite?: number;
  /** The part of cacheWrite with a one-hour TTL (Anthropic cache_creation.ephemeral_1h_input_tokens). */
  cacheWrite1h?: number;
  /** Reasoning tokens (OpenAI reasoning_tokens, Gemini thoughtsTokenCount), part of output. */
  reasoning?: number;
  /** Gemini: toolUsePromptTokenCount, part of input. */
  toolUse?: number;
  /** The cost the provider reports (OpenRouter's usage.cost, /compat/openrouter only). */
  cost?: number;
  /** Perplexity's citation_tokens and num_search_queries (/compat/perplexity only; default 0 and 1). */
  citations?: number;
  searches?: number;
}

/** How the fake answers one request. Every field is optional. */
export interface FakeReply {
  /** Content; for n > 1 an array, one string per choice. Default: a joke about atoms. */
  text?: string | string[];
  /** Streams: the content pieces to send (default: `text` split into word-sized pieces). */
  chunks?: string[];
  /** Send `chunks` (or a small default piece) this many times in total, per choice. */
  repeatChunks?: number;
  /** Reported usage; default { input: 11, output: 16 }. `null`: report no usage at all. */
  usage?: FakeUsage | null;
  /** Model echoed in the response; default: the requested model. */
  model?: string;
  /** Answer with this HTTP error status, in the provider's own error JSON. */
  status?: number;
  errorMessage?: string;
  /** Error type: OpenAI `error.type`, Anthropic `error.error.type` (also used by errorEvent). */
  errorType?: string;
  /** OpenAI `error.code` (default depends on status, e.g. 401 → "invalid_api_key"). */
  errorCode?: string | null;
  /** Streams: after this many content pieces, destroy the socket (no [DONE], no usage, no stop event). */
  cutAfter?: number;
  /**
   * Streams: after some content (true = 2 pieces, or the given number), send the provider's
   * mid-stream error and end the body. Anthropic: `event: error` with overloaded_error;
   * OpenAI chat/completions: `data: {"error": {...}}`; Responses: `event: error`.
   */
  errorEvent?: boolean | number;
  /** Anthropic streams: message_delta usage with every cumulative total ("full", the current API) or only output_tokens ("output", older API). */
  anthropicDeltaUsage?: 'full' | 'output';
  /** Delay before answering, in milliseconds. */
  delayMs?: number;
  /** The service tier reported (OpenAI `service_tier`, Anthropic `usage.service_tier`); default "default" / "standard". */
  serviceTier?: string;
  /** Non-streamed replies: web searches made (Anthropic usage.server_tool_use.web_search_requests; Responses web_search_call items). */
  webSearches?: number;
  /** Extra response headers, e.g. { "retry-after-ms": "1" } for quick SDK retries. */
  headers?: Record<string, string>;
}

/** One request as received. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Path with the query string, as sent. */
  url: string;
  /** Header names lower-cased. */
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON, or null when empty or not JSON. */
  body: any;
  raw: string;
}

export interface FakeProvider {
  /** "http://127.0.0.1:PORT". OpenAI SDK baseURL: url + "/v1"; Anthropic SDK baseURL: url. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order (cleared by reset()). */
  readonly requests: RecordedRequest[];
  /** Replies for the next requests to known routes, one per request, in order; then the default. */
  queue(...replies: FakeReply[]): void;
  /** The reply used when the queue is empty. */
  setDefault(reply: FakeReply): void;
  /** Clears the queue and the recorded requests and restores the initial default reply. */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeProviderOptions {
  /** Port to listen on; 0 or absent = a free port. */
  port?: number;
  /** The initial default reply (otherwise the built-in defaults). */
  defaultReply?: FakeReply;
  /**
   * Azure OpenAI (paths under /openai/, see fake-azure.mjs): the api-key and the Entra ID token
   * it accepts; unset, any non-empty one.
   */
  azureKeys?: { apiKey?: string; adToken?: string };
  /** Gemini (fake-gemini.mjs): the key it accepts (x-goog-api-key, ?key=, or the compat endpoint's bearer); unset, any non-empty one. */
  geminiKeys?: { apiKey?: string };
}

export const DEFAULT_TEXT: string;
export const DEFAULT_USAGE: Readonly<{ input: number; output: number }>;

export function startFakeProvider(options?: FakeProviderOptions): Promise<FakeProvider>;
