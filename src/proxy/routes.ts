/**
 * Which provider and API a request is for, and where upstream it goes. Pure.
 *
 * One port serves both providers: OpenAI clients use `http://HOST:PORT/v1` as their base URL,
 * Anthropic clients `http://HOST:PORT` (their SDK adds /v1 itself), so every request path
 * starts with /v1. Anything else is refused, never forwarded: the proxy only ever talks to
 * the two configured upstreams, on their own base paths.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { UsageError } from '../errors.js';
import type { ProviderName } from '../providers/types.js';
import type { RecordApi } from '../record.js';

export interface Upstreams {
  openai: URL;
  anthropic: URL;
}

/** The providers' public endpoints, used when nothing else is configured. */
export const PUBLIC_UPSTREAMS = { openai: 'https://api.openai.com/v1', anthropic: 'https://api.anthropic.com' } as const;

export interface Route {
  provider: ProviderName;
  /** The API metered, or null for a path that passes through unmetered (e.g. GET /v1/models). */
  api: RecordApi | null;
  /** Path and query to request on the provider's upstream. */
  upstreamPath: string;
}

// Paths under the OpenAI base URL (after its /v1) that carry usage.
const OPENAI_APIS: Record<string, RecordApi> = {
  '/chat/completions': 'chat',
  '/completions': 'completions',
  '/responses': 'responses',
  '/embeddings': 'embeddings',
};

/**
 * The route of a request, or null when it is not for a provider: a path outside /v1, or an
 * absolute-form target (`GET http://elsewhere/ HTTP/1.1`, which would make us an open relay).
 */
export function routeOf(method: string, target: string, headers: IncomingHttpHeaders, upstreams: Upstreams): Route | null {
  if (!target.startsWith('/')) return null;
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (path !== '/v1' && !path.startsWith('/v1/')) return null;

  // /v1/models and a few others exist at both providers: the Anthropic SDK always sends
  // anthropic-version, and no OpenAI client does.
  const anthropic = path.startsWith('/v1/messages') || path === '/v1/complete' || headers['anthropic-version'] !== undefined;
  if (anthropic) {
    return {
      provider: 'anthropic',
      api: method === 'POST' && path === '/v1/messages' ? 'messages' : null,
      upstreamPath: basePath(upstreams.anthropic) + path + query,
    };
  }
  // OpenAI base URLs include /v1 (https://api.openai.com/v1); some do not (https://api.deepseek.com).
  const rest = path.slice(3);
  return {
    provider: 'openai',
    api: method === 'POST' ? (OPENAI_APIS[rest] ?? null) : null,
    upstreamPath: basePath(upstreams.openai) + rest + query,
  };
}

function basePath(url: URL): string {
  return url.pathname.replace(/\/+$/, '');
}

/**
 * The upstreams: --openai-upstream / --anthropic-upstream, else the user's own OPENAI_BASE_URL
 * (or OPENAI_API_BASE, older clients' name) and ANTHROPIC_BASE_URL, else the public endpoints.
 * A malformed URL is a UsageError naming where it came from.
 */
export function upstreamsOf(flags: { openai?: string; anthropic?: string }, env: NodeJS.ProcessEnv): Upstreams {
  const openai = (value: string | undefined, source: string) => upstreamUrl(value, source, PUBLIC_UPSTREAMS.openai);
  const anthropic = (value: string | undefined, source: string) => upstreamUrl(value, source, PUBLIC_UPSTREAMS.anthropic);
  return {
    openai:
      openai(flags.openai, '--openai-upstream') ??
      openai(env.OPENAI_BASE_URL, 'OPENAI_BASE_URL') ??
      openai(env.OPENAI_API_BASE, 'OPENAI_API_BASE') ??
      new URL(PUBLIC_UPSTREAMS.openai),
    anthropic: anthropic(flags.anthropic, '--anthropic-upstream') ?? anthropic(env.ANTHROPIC_BASE_URL, 'ANTHROPIC_BASE_URL') ?? new URL(PUBLIC_UPSTREAMS.anthropic),
  };
}

function upstreamUrl(value: string | undefined, source: string, example: string): URL | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new UsageError(`${source}: "${value}" is not a URL (expected e.g. ${example})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${source}: "${value}" is not an http:// or https:// URL (expected e.g. ${example})`);
  if (url.search || url.hash) throw new UsageError(`${source}: "${value}" must not have a query or fragment`);
  return url;
}

/**
 * The HTTP proxy an https upstream is reached through, as other tools do it: HTTPS_PROXY (or
 * https_proxy), unless NO_PROXY (or no_proxy) names the upstream's host, a domain it is in,
 * or `*`. Only http:// proxies, tunnelled with CONNECT (the usual corporate kind); an http://
 * upstream (a local server) always goes direct. A proxy that is not a usable URL is a
 * UsageError naming the variable, never its credentials.
 */
export function tunnelOf(upstream: URL, env: NodeJS.ProcessEnv): URL | null {
  if (upstream.protocol !== 'https:') return null;
  const name = env.HTTPS_PROXY ? 'HTTPS_PROXY' : env.https_proxy ? 'https_proxy' : null;
  const value = name ? (env[name] ?? '').trim() : '';
  if (!name || !value || bypassed(upstream, env.NO_PROXY ?? env.no_proxy ?? '')) return null;
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new UsageError(`${name} is not a URL (expected e.g. http://proxy.example:3128)`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`${name}: only http:// proxies are supported, not ${url.protocol}// (or unset it for llm-usage)`);
  return url;
}

/** tunnelOf for both upstreams. */
export function tunnelsOf(upstreams: Upstreams, env: NodeJS.ProcessEnv): Record<keyof Upstreams, URL | null> {
  return { openai: tunnelOf(upstreams.openai, env), anthropic: tunnelOf(upstreams.anthropic, env) };
}

function bypassed(upstream: URL, noProxy: string): boolean {
  const host = upstream.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = upstream.port || '443';
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort: string | null = null;
    const portMatch = /^(.*[^:\]]):(\d+)$/.exec(entry) ?? /^(\[.*\]):(\d+)$/.exec(entry);
    if (portMatch) [entry, entryPort] = [portMatch[1] as string, portMatch[2] as string];
    entry = entry.replace(/^\[(.*)\]$/, '$1').replace(/^\*?\./, '');
    if (entryPort !== null && entryPort !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** A URL fit to print: no user name or password, no query. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The environment a wrapped command runs with: every client's base-URL variable points at the
 * proxy (OPENAI_API_BASE for older OpenAI clients; ANTHROPIC_BASE_URL without /v1, as the
 * Anthropic SDK expects). Keys stay as they are. With an HTTP(S)_PROXY set, loopback joins
 * NO_PROXY, or clients such as httpx would send the proxy's traffic to the corporate proxy.
 */
export function clientEnv(env: NodeJS.ProcessEnv, origin: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {
    ...env,
    OPENAI_BASE_URL: `${origin}/v1`,
    OPENAI_API_BASE: `${origin}/v1`,
    ANTHROPIC_BASE_URL: origin,
  };
  const proxied = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy'].some((name) => env[name]);
  if (proxied) {
    for (const name of ['NO_PROXY', 'no_proxy']) {
      const list = env[name];
      out[name] = list ? `${list},127.0.0.1,localhost` : '127.0.0.1,localhost';
    }
  }
  return out;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', '0.0.0.0']);

/** The upstream variable that points back at the proxy's own address, if one does (a loop). */
export function loopingUpstream(upstreams: Upstreams, host: string, port: number): keyof Upstreams | null {
  for (const [name, url] of Object.entries(upstreams) as [keyof Upstreams, URL][]) {
    const upstreamPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (upstreamPort === port && (LOOPBACK.has(url.hostname) || url.hostname === host)) return name;
  }
  return null;
}
