/**
 * What every flavour shares, SDK-free: the per-attempt logging fetch, key redaction,
 * turning a thrown SDK/network error into a `ProviderFailure`, and the outcome being filled.
 */
import type { UsageExtras } from '../normalise.js';
import type { Usage } from '../usage.js';
import type { CallEvents, CallOutcome, ProviderFailure } from './types.js';

/** The `fetch` shape both SDKs accept as a client option. */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * A fetch that reports one line per HTTP attempt (the SDKs retry inside, so wrapping
 * fetch is the only place every attempt is visible). Never logs headers or bodies:
 * only the method, path, status, request id and attempt number.
 */
export function attemptLoggingFetch(onLog: (line: string) => void, requestIdHeader: string): Fetch {
  let attempts = 0;
  return async (input, init) => {
    const attempt = ++attempts;
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const path = pathOf(input);
    try {
      const response = await globalThis.fetch(input, init);
      const requestId = response.headers.get(requestIdHeader);
      onLog(`attempt ${attempt}: ${method} ${path} -> ${response.status}${requestId ? ` (request id ${requestId})` : ''}`);
      return response;
    } catch (err) {
      onLog(`attempt ${attempt}: ${method} ${path} -> ${isAbortError(err) ? 'aborted' : `connection failed (${causeText(err)})`}`);
      throw err;
    }
  };
}

function pathOf(input: string | URL | Request): string {
  const url = input instanceof Request ? input.url : String(input);
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/**
 * An error's messages down its cause chain, where the useful part of a network error
 * lives: "Connection error: fetch failed: connect ECONNREFUSED 127.0.0.1:9".
 */
export function causeText(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    parts.push(current.message.replace(/\.$/, ''));
    current = current.cause;
  }
  return parts.filter((part, i) => part && parts.indexOf(part) === i).join(': ') || String(err);
}

/** Error codes of a connection that broke after the response started (undici and Node). */
export function brokenConnection(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (current.message === 'terminated') return true;
    if (typeof code === 'string' && /^(UND_ERR|ECONNRESET|EPIPE|ECONNABORTED|ETIMEDOUT)/.test(code)) return true;
    current = current.cause;
  }
  return false;
}

/**
 * Removes the API key from text the server or SDK produced: the exact key, and anything
 * that looks like a secret key (`sk-…`, which covers `sk-ant-…` and OpenAI's half-masked
 * echoes). Keys shorter than 8 characters are placeholders for local servers, not secrets,
 * and replacing them would mangle ordinary words in the message.
 */
export function redact(text: string, apiKey: string): string {
  const withoutKey = apiKey.length >= 8 ? text.split(apiKey).join('***') : text;
  return withoutKey.replace(/\bsk-[A-Za-z0-9_*.-]{4,}/g, '***').replace(/\bAIza[0-9A-Za-z_-]{35}/g, '***');
}

const MAX_MESSAGE_LENGTH = 500;

/**
 * A failure message fit for the terminal: key redacted, and cut short, since a proxy's
 * error page can arrive as the whole "message".
 */
export function safeMessage(text: string, apiKey: string): string {
  const redacted = redact(text, apiKey).trim();
  return redacted.length > MAX_MESSAGE_LENGTH ? `${redacted.slice(0, MAX_MESSAGE_LENGTH)}…` : redacted;
}

/** The error classes of one SDK, so classification needs no SDK import of its own. */
export interface SdkErrorClasses {
  APIError: abstract new (...args: never[]) => Error;
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
  /** The SDK's base class: thrown, not an APIError, when the SDK refuses to send a request. */
  BaseError: abstract new (...args: never[]) => Error;
}

interface ApiErrorLike {
  status?: number;
  message: string;
  type?: string | null;
  code?: string | null;
  requestID?: string | null;
  /** OpenAI: the body's `error` object; Anthropic: the whole body `{type:'error', error:{…}}`. */
  error?: unknown;
  /** Anthropic: `error.message` from the body. */
  apiMessage?: string | null;
}

function stringField(object: unknown, key: string): string | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const value = (object as Record<string, unknown>)[key];
  return typeof value === 'string' && value ? value : undefined;
}

/** The provider's own message and type, not the SDK's "401 {json}" rendering. */
function providerMessageAndType(err: ApiErrorLike): { message: string; type?: string } {
  const body = err.error;
  const nested = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['error'] : undefined;
  const message = err.apiMessage ?? stringField(body, 'message') ?? stringField(nested, 'message') ?? err.message;
  const type = err.type ?? stringField(nested, 'type') ?? stringField(body, 'type') ?? err.code ?? undefined;
  // Anthropic's body type is the constant 'error'; the useful type is the nested one.
  return { message, type: type === 'error' ? stringField(nested, 'type') : type };
}

/**
 * The failure a thrown error stands for. Rethrows what is not a failed call: the SDK
 * refusing to send (missing key, a non-streaming request too long for its timeout) and
 * programming errors.
 */
export function failureFrom(
  err: unknown,
  context: { apiKey: string; signal?: AbortSignal; sdk: SdkErrorClasses; requestId?: string },
): ProviderFailure {
  const { apiKey, signal, sdk } = context;
  const requestId = (err as ApiErrorLike | null)?.requestID ?? context.requestId;
  const withId = (failure: ProviderFailure): ProviderFailure => {
    const redacted = { ...failure, message: safeMessage(failure.message, apiKey) };
    return requestId ? { ...redacted, requestId } : redacted;
  };
  // The caller's abort surfaces as APIUserAbortError before the response, and as many
  // other errors (or none) after it: the signal is the one reliable witness.
  if (signal?.aborted || err instanceof sdk.APIUserAbortError) {
    return withId({ kind: 'aborted', message: 'request aborted by the caller' });
  }
  if (err instanceof sdk.APIConnectionError) {
    return withId({ kind: 'connection', message: causeText(err) });
  }
  if (err instanceof sdk.APIError) {
    const apiError = err as unknown as ApiErrorLike;
    const { message, type } = providerMessageAndType(apiError);
    // No status: the error arrived inside a 200 stream (`event: error` or a `{"error":…}` chunk).
    const failure: ProviderFailure =
      typeof apiError.status === 'number'
        ? { kind: 'http', status: apiError.status, message }
        : { kind: 'stream-error', message };
    return withId(type ? { ...failure, type } : failure);
  }
  if (err instanceof sdk.BaseError) throw err;
  if (brokenConnection(err)) {
    return withId({ kind: 'stream-cut', message: `connection closed before the response ended (${causeText(err)})` });
  }
  if (err instanceof SyntaxError) {
    return withId({ kind: 'stream-error', message: `malformed response: ${err.message}` });
  }
  throw err;
}

/** The outcome being filled in while a call runs; whatever arrived stays when it fails. */
export class OutcomeBuilder {
  readonly text: string[];
  model: string | null = null;
  usage: Usage | null = null;
  partialUsage: Usage | undefined;
  requestId: string | undefined;
  failure: ProviderFailure | undefined;
  extras: UsageExtras | undefined;

  constructor(
    choices: number,
    private readonly events: CallEvents | undefined,
  ) {
    this.text = Array.from({ length: Math.max(1, choices) }, () => '');
  }

  /** Appends text to one choice (routed by the choice index the provider sent). */
  append(choice: number, delta: string): void {
    if (!delta) return;
    while (this.text.length <= choice) this.text.push('');
    this.text[choice] = (this.text[choice] ?? '') + delta;
    this.events?.onText?.(choice, delta);
  }

  /** Records the failure, tagged with the request id when one is known. */
  fail(failure: ProviderFailure): void {
    this.failure = this.requestId && !failure.requestId ? { ...failure, requestId: this.requestId } : failure;
  }

  outcome(): CallOutcome {
    const outcome: CallOutcome = { text: this.text, model: this.model, usage: this.usage };
    if (this.partialUsage) outcome.partialUsage = this.partialUsage;
    if (this.extras !== undefined) outcome.extras = this.extras;
    if (this.requestId) outcome.requestId = this.requestId;
    if (this.failure) outcome.failure = this.failure;
    return outcome;
  }
}

/** The failure of a stream that ended without its terminal event. */
export function unfinishedStream(signal: AbortSignal | undefined, missing: string): ProviderFailure {
  // The SDKs end iteration quietly when the request's signal aborts, so look at the signal.
  return signal?.aborted
    ? { kind: 'aborted', message: 'request aborted by the caller' }
    : { kind: 'stream-cut', message: `stream ended before ${missing}` };
}
