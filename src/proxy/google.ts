/**
 * Google's Gemini API through the metering proxy. Pure.
 *
 * Gemini clients (the @google/genai SDK, with GOOGLE_GEMINI_BASE_URL pointing at the proxy) call
 * `/{version}/models/{model}:generateContent` and `:streamGenerateContent` (`?alt=sse`, or a JSON
 * array without it), version v1beta, v1 or v1alpha; they are metered, the model and whether it
 * streams read from the path. Everything else under /v1beta and /v1alpha (listing models,
 * counting tokens, files, caches) passes through unmetered, and so does a request under /v1
 * that carries Google's key (`x-goog-api-key`, or `?key=`). Gemini's OpenAI-compatible endpoint
 * (`/v1beta/openai/...`) is metered as OpenAI chat, priced under google. All go to the Gemini
 * upstream, at its base path, with the key where the client put it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RecordApi } from '../record.js';
import type { Route } from './routes.js';

/** What a generateContent path names: the model (decoded) and whether it streams. */
export interface GeminiTarget {
  model: string;
  stream: boolean;
}

const METHOD = /^\/(?:v1|v1beta|v1alpha)\/models\/([^/]+):(generateContent|streamGenerateContent)$/;

/** The model and stream of a `/{version}/models/{model}:(stream)GenerateContent` path; null for any other path. */
export function geminiTargetOf(path: string): GeminiTarget | null {
  const match = METHOD.exec(path);
  if (!match) return null;
  let model: string;
  try {
    model = decodeURIComponent(match[1] as string);
  } catch {
    return null;
  }
  return model ? { model, stream: match[2] === 'streamGenerateContent' } : null;
}

// Under the OpenAI-compatible endpoint: the APIs that carry usage.
const OPENAI_APIS: Record<string, RecordApi> = { '/chat/completions': 'chat', '/embeddings': 'embeddings' };

/** Whether a request carries Google's key: the x-goog-api-key header or a `key` query parameter. */
export function hasGoogleKey(headers: IncomingHttpHeaders, query: string): boolean {
  return headers['x-goog-api-key'] !== undefined || new URLSearchParams(query).has('key');
}

/**
 * The route of a Gemini API request to `upstream`, or null when it is not one. `path` is
 * normalised; `query` starts with ? (or is empty) and goes upstream as it came.
 */
export function googleRouteOf(method: string, path: string, query: string, headers: IncomingHttpHeaders, upstream: URL): Route | null {
  const compat = /^\/v1beta\/openai(\/.*)?$/.exec(path);
  const target = compat ? null : geminiTargetOf(path);
  const google = compat !== null || target !== null || /^\/(v1beta|v1alpha)(\/|$)/.test(path) || (/^\/v1(\/|$)/.test(path) && hasGoogleKey(headers, query));
  if (!google) return null;
  const api: RecordApi | null = method !== 'POST' ? null : target ? 'gemini' : compat ? (OPENAI_APIS[compat[1] ?? ''] ?? null) : null;
  const route: Route = { provider: 'google', api, upstreamPath: upstream.pathname.replace(/\/+$/, '') + path + query };
  if (api === 'gemini' && target) route.gemini = target;
  return route;
}

/** Google's key in a request: the x-goog-api-key header, else the `key` query parameter (never printed). */
export function googleKeyIn(headers: IncomingHttpHeaders, target: string): string | undefined {
  const header = headers['x-goog-api-key'];
  if (typeof header === 'string' && header) return header;
  const at = target.indexOf('?');
  return at === -1 ? undefined : (new URLSearchParams(target.slice(at + 1)).get('key') ?? undefined);
}
