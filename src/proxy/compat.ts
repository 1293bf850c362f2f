/**
 * The OpenAI-compatible providers through the metering proxy. Pure.
 *
 * Each provider of providers/compat.ts is served on its own path prefix, `/NAME/v1/...` (say
 * `http://127.0.0.1:4747/groq/v1` as an `openai` client's base URL), and, for a provider whose
 * own SDK reads a base-URL variable, also under the path that SDK adds (groq-sdk posts to
 * `$GROQ_BASE_URL/openai/v1/chat/completions`). A request goes to the provider's upstream, its
 * public base URL unless `--upstream NAME=URL` (or, for ollama, OLLAMA_HOST) says otherwise,
 * with the rest of its path after that base URL, and is metered with the OpenAI readers.
 */
import { UsageError } from '../errors.js';
import { COMPAT_PROVIDERS, compatBaseUrl, compatRow, isCompat, type CompatName } from '../providers/compat.js';
import type { RecordApi } from '../record.js';
import type { Route } from './routes.js';

// The paths under a compatible base URL that carry usage.
const COMPAT_APIS: Record<string, RecordApi> = { '/chat/completions': 'chat', '/completions': 'completions', '/embeddings': 'embeddings' };

/**
 * The route of a request under `/NAME/` for a compatible provider NAME, or null for any other
 * path. `path` is normalised; paths outside `/NAME/v1` (and the SDK's own base path) have none.
 */
export function compatRouteOf(method: string, path: string, query: string, upstreams: Partial<Record<CompatName, URL>> | undefined): Route | 'no-route' | null {
  const m = /^\/([a-z-]+)(\/.*)?$/.exec(path);
  if (!m || !isCompat(m[1] as string)) return null;
  const name = m[1] as CompatName;
  const rest = m[2] ?? '';
  const sdkPath = compatRow(name).sdk?.path;
  const base = [sdkPath, '/v1'].find((p) => p && (rest === p || rest.startsWith(`${p}/`)));
  if (base === undefined) return 'no-route';
  const api = rest.slice(base.length) || '/';
  const upstream = upstreams?.[name] ?? new URL(compatRow(name).baseUrl);
  return {
    provider: name,
    api: method === 'POST' ? (COMPAT_APIS[api] ?? null) : null,
    upstreamPath: upstream.pathname.replace(/\/+$/, '') + (api === '/' ? '' : api) + query,
    upstream,
  };
}

/**
 * The compatible providers' upstreams: `--upstream NAME=URL` (repeatable), else ollama's
 * OLLAMA_HOST; the rest use their public base URLs (compatRouteOf). Bad input is a UsageError.
 */
export function compatUpstreamsOf(flags: readonly string[] | undefined, env: NodeJS.ProcessEnv): Partial<Record<CompatName, URL>> {
  const out: Partial<Record<CompatName, URL>> = {};
  const ollama = env.OLLAMA_HOST?.trim();
  if (ollama) out.ollama = checked(compatBaseUrl('ollama', env).url, 'OLLAMA_HOST');
  // The user's own SDK base URL (GROQ_BASE_URL=...), as their SDK would have used it.
  for (const row of COMPAT_PROVIDERS as readonly { id: CompatName; sdk?: { variable: string; path: string } }[]) {
    const own = row.sdk ? env[row.sdk.variable]?.trim() : undefined;
    if (row.sdk && own) out[row.id] = checked(own.replace(/\/+$/, '') + row.sdk.path, row.sdk.variable);
  }
  for (const flag of flags ?? []) {
    const at = flag.indexOf('=');
    const name = flag.slice(0, at).trim().toLowerCase();
    if (at < 1 || !isCompat(name)) {
      throw new UsageError(`--upstream "${flag.replace(/\/\/[^/]*@/, '//***@')}": give NAME=URL, NAME one of ${COMPAT_PROVIDERS.map((r) => r.id).join(', ')}`);
    }
    out[name] = checked(flag.slice(at + 1), `--upstream ${name}`);
  }
  return out;
}

function checked(value: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new UsageError(`${source}: "${value.replace(/\/\/[^/]*@/, '//***@')}" is not a URL (expected e.g. https://api.groq.com/openai/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${source}: not an http:// or https:// URL`);
  if (url.search || url.hash) throw new UsageError(`${source}: the URL must not have a query or fragment`);
  return url;
}

/**
 * The base-URL variable of a compatible provider's own SDK, pointed at the proxy: the value that
 * SDK adds its own path to (GROQ_BASE_URL=ORIGIN/groq, for groq-sdk adds /openai/v1 itself).
 */
export function compatClientVar(name: CompatName, origin: string): Record<string, string> {
  const sdk = compatRow(name).sdk;
  if (!sdk) return {};
  return { [sdk.variable]: `${origin}/${name}${sdk.path === '' ? '/v1' : ''}` };
}
