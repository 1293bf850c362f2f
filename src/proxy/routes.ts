/**
 * Which provider and API a request is for, and where upstream it goes. Pure, but for
 * `loopingUpstream`, which may resolve a host name.
 *
 * One port serves both providers: OpenAI clients use `http://HOST:PORT/v1` as their base URL,
 * Anthropic clients `http://HOST:PORT` (their SDK adds /v1 itself) or `http://HOST:PORT/v1`
 * (the Vercel AI SDK adds only /messages). Every path is normalised before it is routed, so
 * each spelling of an API is metered as that API, and nothing is ever forwarded outside the
 * upstreams' base paths.
 */
import { lookup } from 'node:dns/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { UsageError } from '../errors.js';
import { AZURE_EXAMPLE_ENDPOINT } from '../providers/azure.js';
import { defaultBedrockEndpoint } from '../providers/bedrock.js';
import type { ProviderName } from '../providers/types.js';
import type { RecordApi } from '../record.js';
import { azurePathOf, azureRouteOf } from './azure.js';
import { compatClientVar, compatRouteOf, compatUpstreamsOf } from './compat.js';
import { COMPAT_PROVIDERS, type CompatName } from '../providers/compat.js';
import { googleRouteOf, type GeminiTarget } from './google.js';
import { bedrockTargetOf, type BedrockTarget } from '../wire/bedrock.js';
import { isSigV4 } from './aws.js';
import type { ProxyRefusal } from './provider-errors.js';

export interface Upstreams {
  openai: URL;
  anthropic: URL;
  /** The Azure OpenAI resource's endpoint, when one is configured (there is no public default). */
  azure?: URL;
  /** Null: the public endpoint of the region each request is signed for (see aws.ts). */
  bedrock: URL | null;
  /** Google's Gemini API: its base URL, without the API version. */
  google: URL;
  /** The compatible providers' upstreams set by --upstream NAME=URL (or OLLAMA_HOST); the rest are public (proxy/compat.ts). */
  compat?: Partial<Record<CompatName, URL>>;
}

/** The providers' public endpoints, used when nothing else is configured. */
export const PUBLIC_UPSTREAMS = { openai: 'https://api.openai.com/v1', anthropic: 'https://api.anthropic.com', bedrock: 'https://bedrock-runtime.{region}.amazonaws.com', google: 'https://generativelanguage.googleapis.com' } as const;

export interface Route {
  /** A provider the proxy forwards to (each has an upstream; a compatible provider's is `upstream`). */
  provider: Exclude<keyof Upstreams, 'compat'> | CompatName;
  /** The API metered, or null for a path that passes through unmetered (e.g. GET /v1/models). */
  api: RecordApi | null;
  /** Path and query to request on the provider's upstream. */
  upstreamPath: string;
  /** Azure: the deployment the path names (the model a request's body names is ignored there). */
  deployment?: string;
  /** Bedrock: the operation and model its path names, and, once its signature verified, where it goes. */
  bedrock?: BedrockTarget | null;
  upstream?: URL;
  /** Gemini: the model and whether it streams, as its generateContent path names them. */
  gemini?: GeminiTarget;
}

/** A request the proxy answers itself and never forwards. */
export interface Refusal {
  refusal: Exclude<ProxyRefusal, 'budget' | 'unreachable' | 'timeout' | 'too-large'>;
  /** Whose error format the answer takes. */
  provider: ProviderName;
  message: string;
}

// Paths under the OpenAI base URL (after its /v1) that carry usage.
const OPENAI_APIS: Record<string, RecordApi> = {
  '/chat/completions': 'chat',
  '/completions': 'completions',
  '/responses': 'responses',
  '/embeddings': 'embeddings',
};

const UNUSUAL_PATH = /\/\/|\/\.|%|\\/;

/**
 * A path with `//`, `.` and `..` (also as %2e) resolved, or null when it would climb above its
 * first `floor` segments or hides a separator (%2f, %5c, a backslash) that a server could
 * decode into a path we never routed.
 */
export function normalisedPath(path: string, floor: number): string | null {
  // Nearly every path is normal already: no empty, dot or encoded segment, no trailing slash.
  if (path.length > 1 && path[0] === '/' && !path.endsWith('/') && !UNUSUAL_PATH.test(path)) return path;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (/%2f|%5c|\\/i.test(segment)) return null;
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '' || plain === '.') continue;
    if (plain === '..') {
      if (out.length <= floor) return null;
      out.pop();
    } else out.push(segment);
  }
  return '/' + out.join('/');
}

/**
 * The route of a request, or the reason it is refused: a path outside /v1 or an absolute-form
 * target (`GET http://elsewhere/ HTTP/1.1`, which would make us an open relay) has no route; a
 * path that climbs out of /v1 is bad; an Azure OpenAI request goes to the Azure upstream only
 * (azure.ts), never with its Azure key to another.
 */
export function routeOf(method: string, target: string, headers: IncomingHttpHeaders, upstreams: Upstreams, origin: string): Route | Refusal {
  const anthropicClient = headers['anthropic-version'] !== undefined;
  const noRoute = (): Refusal => ({
    refusal: 'no-route',
    provider: anthropicClient ? 'anthropic' : 'openai',
    message: `llm-usage proxy: no route for ${method} ${target.split('?')[0]}: OpenAI clients use ${origin}/v1 as their base URL, Anthropic clients ${origin}`,
  });
  if (!target.startsWith('/')) return noRoute();
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (isSigV4(headers) || rawPath.startsWith('/model/')) return bedrockRouteOf(method, rawPath, query);
  const underV1 = /^\/+v1(\/|$)/.test(rawPath);
  // A compatible provider's prefix (/groq/v1/...) is a floor like /v1: nothing climbs out of it;
  // nor out of Azure's /openai or Gemini's /v1beta and /v1alpha.
  const compatPrefix = /^\/+([a-z-]+)\/+v1(\/|$)/.exec(rawPath)?.[1];
  const path = normalisedPath(rawPath, compatPrefix && compatPrefix !== 'openai' ? 2 : underV1 || /^\/+(openai|v1beta|v1alpha)(\/|$)/.test(rawPath) ? 1 : 0);
  if (path === null) {
    return { refusal: 'bad-path', provider: anthropicClient ? 'anthropic' : 'openai', message: `llm-usage proxy: the path ${rawPath} leaves the API's base path or hides a separator; not forwarded` };
  }
  // The compatible providers, each on its own prefix (/groq/v1/...), to its own upstream.
  const compat = compatRouteOf(method, path, query, upstreams.compat);
  if (compat === 'no-route') return noRoute();
  if (compat) return compat;
  // The Vercel AI SDK's Anthropic provider posts to `${ANTHROPIC_BASE_URL}/messages`.
  const rest = underV1 ? path.slice(3) : path;
  const google = googleRouteOf(method, path, query, headers, upstreams.google);
  if (google) return google;
  const azurePath = azurePathOf(path, underV1, rest, query, headers);
  if (azurePath !== null) return azureRouteOf(method, azurePath, query, upstreams.azure);
  if (headers['api-key'] !== undefined || rest.startsWith('/deployments/')) {
    return { refusal: 'azure', provider: 'openai', message: `llm-usage proxy: this Azure OpenAI request (an api-key header, or a /deployments/ path) was not sent anywhere: Azure clients use ${origin} as their endpoint (AZURE_OPENAI_ENDPOINT)` };
  }
  const anthropicPath = rest === '/messages' || rest.startsWith('/messages/') || rest === '/complete';
  if (!underV1 && !anthropicPath) return noRoute();
  const anthropic = anthropicClient || anthropicPath;
  if (anthropic) {
    // A base URL given with /v1 is not doubled.
    const base = basePath(upstreams.anthropic, true);
    return { provider: 'anthropic', api: method === 'POST' && rest === '/messages' ? 'messages' : null, upstreamPath: `${base}/v1${rest === '/' ? '' : rest}${query}` };
  }
  // OpenAI base URLs include /v1 (https://api.openai.com/v1); some do not (https://api.deepseek.com).
  return { provider: 'openai', api: method === 'POST' ? (OPENAI_APIS[rest] ?? null) : null, upstreamPath: basePath(upstreams.openai) + (rest === '/' ? '' : rest) + query };
}

/**
 * A Bedrock request (SigV4-signed, or a /model/ path): metered when it is one of the four
 * runtime operations, passed through (signed again all the same) otherwise. Its path is sent as
 * it came, for it is what was signed: a model ARN's %2F is a model id's, not a separator, but no
 * segment may be `.` or `..`.
 */
function bedrockRouteOf(method: string, rawPath: string, query: string): Route | Refusal {
  if (rawPath.split('/').some((s, i) => (i > 0 && s === '') || /^(\.|%2e){1,2}$/i.test(s) || s.includes('\\'))) {
    return { refusal: 'bad-path', provider: 'bedrock', message: `llm-usage proxy: the path ${rawPath} leaves the API's base path; not forwarded` };
  }
  const target = method === 'POST' ? bedrockTargetOf(rawPath) : null;
  return { provider: 'bedrock', api: target ? target.api : null, upstreamPath: rawPath + query, bedrock: target };
}

const basePaths = new WeakMap<URL, string>();

/** An upstream's path without its trailing slashes (and its /v1, for `withoutV1`); read from the URL once. */
function basePath(url: URL, withoutV1 = false): string {
  let path = basePaths.get(url);
  if (path === undefined) basePaths.set(url, (path = url.pathname.replace(/\/+$/, '')));
  return withoutV1 && path.endsWith('/v1') ? path.slice(0, -3) : path;
}

/**
 * The upstreams: --openai-upstream / --anthropic-upstream, else the user's own OPENAI_BASE_URL
 * (or OPENAI_API_BASE, older clients' name) and ANTHROPIC_BASE_URL, else the public endpoints.
 * A malformed URL is a UsageError naming where it came from.
 */
export function upstreamsOf(flags: { openai?: string; anthropic?: string; azure?: string; bedrock?: string; google?: string; compat?: readonly string[] }, env: NodeJS.ProcessEnv): Upstreams {
  const openai = (value: string | undefined, source: string) => upstreamUrl(value, source, PUBLIC_UPSTREAMS.openai);
  const anthropic = (value: string | undefined, source: string) => upstreamUrl(value, source, PUBLIC_UPSTREAMS.anthropic);
  const bedrock = (value: string | undefined, source: string) => upstreamUrl(value, source, defaultBedrockEndpoint('us-east-1'));
  const google = (value: string | undefined, source: string) => upstreamUrl(value, source, PUBLIC_UPSTREAMS.google);
  const azure = upstreamUrl(flags.azure, '--azure-upstream', AZURE_EXAMPLE_ENDPOINT) ?? upstreamUrl(env.AZURE_OPENAI_ENDPOINT, 'AZURE_OPENAI_ENDPOINT', AZURE_EXAMPLE_ENDPOINT);
  const compat = compatUpstreamsOf(flags.compat, env);
  return {
    ...(azure ? { azure } : {}),
    ...(Object.keys(compat).length ? { compat } : {}),
    openai:
      openai(flags.openai, '--openai-upstream') ??
      openai(env.OPENAI_BASE_URL, 'OPENAI_BASE_URL') ??
      openai(env.OPENAI_API_BASE, 'OPENAI_API_BASE') ??
      new URL(PUBLIC_UPSTREAMS.openai),
    anthropic: anthropic(flags.anthropic, '--anthropic-upstream') ?? anthropic(env.ANTHROPIC_BASE_URL, 'ANTHROPIC_BASE_URL') ?? new URL(PUBLIC_UPSTREAMS.anthropic),
    // As the AWS SDKs read them, the service's own variable before the general one.
    bedrock:
      bedrock(flags.bedrock, '--bedrock-upstream') ??
      bedrock(env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME, 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME') ??
      bedrock(env.AWS_ENDPOINT_URL, 'AWS_ENDPOINT_URL') ??
      null,
    // The @google/genai SDK's variable.
    google: google(flags.google, '--google-upstream') ?? google(env.GOOGLE_GEMINI_BASE_URL, 'GOOGLE_GEMINI_BASE_URL') ?? new URL(PUBLIC_UPSTREAMS.google),
  };
}

function upstreamUrl(value: string | undefined, source: string, example: string): URL | undefined {
  if (value === undefined) return undefined;
  // A flag given empty is a mistake; an empty variable is as good as unset.
  if (value.trim() === '') {
    if (source.startsWith('--')) throw new UsageError(`${source} is empty: give a URL (e.g. ${example}), or leave it out`);
    return undefined;
  }
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

/** HTTP_PROXY, HTTPS_PROXY and NO_PROXY as undici's EnvHttpProxyAgent takes them, each checked. */
export interface ProxyEnv {
  httpProxy: string | undefined;
  httpsProxy: string | undefined;
  noProxy: string | undefined;
}

/**
 * The corporate proxies the upstreams are reached through, from the environment as curl reads
 * it (upper or lower case). A value that is not an http:// or https:// URL is a UsageError
 * naming the variable, never its credentials.
 */
export function proxyEnvOf(env: NodeJS.ProcessEnv): ProxyEnv {
  const read = (upper: string) => {
    const name = env[upper] ? upper : env[upper.toLowerCase()] ? upper.toLowerCase() : null;
    const value = name ? (env[name] as string).trim() : '';
    if (!name || !value) return undefined;
    let url: URL;
    try {
      url = new URL(value.includes('://') ? value : `http://${value}`);
    } catch {
      throw new UsageError(`${name} is not a URL (expected e.g. http://proxy.example:3128)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${name}: ${url.protocol}// proxies are not supported, only http:// and https:// (or unset it for llm-usage)`);
    return url.href;
  };
  return { httpProxy: read('HTTP_PROXY'), httpsProxy: read('HTTPS_PROXY'), noProxy: env.NO_PROXY ?? env.no_proxy };
}

/**
 * Where Bedrock calls go when no endpoint is set, in words: the public endpoint of the region
 * each is signed for, which is AWS_REGION's (or AWS_DEFAULT_REGION's) unless the program says
 * otherwise or takes it from its profile.
 */
export function bedrockDefault(env: NodeJS.ProcessEnv): string {
  const region = [env.AWS_REGION, env.AWS_DEFAULT_REGION].find((r) => r && /^[a-z0-9-]+$/.test(r));
  // No braces: `proxy --json`'s summary is the first { on stderr.
  const url = (r: string) => PUBLIC_UPSTREAMS.bedrock.replace('{region}', r);
  return region ? `${url(region)} (the region of AWS_REGION; each request goes to the region it is signed for)` : `${url('REGION')} (the region each request is signed for)`;
}

/** A URL fit to print: no user name or password, no query. */
export function displayUrl(url: URL | string): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * The variables each provider's clients read for where to send calls, pointed at the proxy.
 * OPENAI_API_BASE is older OpenAI clients' name; ANTHROPIC_API_URL is LangChain's, read before
 * ANTHROPIC_BASE_URL; AZURE_OPENAI_ENDPOINT is AzureOpenAI's (it adds /openai itself);
 * AWS_ENDPOINT_URL_BEDROCK_RUNTIME the AWS SDKs' and ANTHROPIC_BEDROCK_BASE_URL AnthropicBedrock's;
 * GOOGLE_GEMINI_BASE_URL @google/genai's.
 */
export const CLIENT_VARS: Readonly<Record<string, (origin: string) => Record<string, string>>> = {
  openai: (origin) => ({ OPENAI_BASE_URL: `${origin}/v1`, OPENAI_API_BASE: `${origin}/v1` }),
  anthropic: (origin) => ({ ANTHROPIC_BASE_URL: origin, ANTHROPIC_API_URL: origin }),
  azure: (origin) => ({ AZURE_OPENAI_ENDPOINT: origin }),
  // The AWS SDKs (JavaScript v3, boto3, the CLI) and AnthropicBedrock.
  bedrock: (origin) => ({ AWS_ENDPOINT_URL_BEDROCK_RUNTIME: origin, ANTHROPIC_BEDROCK_BASE_URL: origin }),
  // The @google/genai SDK (it adds /v1beta itself).
  google: (origin) => ({ GOOGLE_GEMINI_BASE_URL: origin }),
  // The compatible providers whose own SDKs read a base-URL variable: providers/compat.ts's sdk
  // column (groq-sdk's GROQ_BASE_URL, together-ai's TOGETHER_BASE_URL, the Cerebras SDK's CEREBRAS_BASE_URL).
  ...Object.fromEntries(COMPAT_PROVIDERS.filter((row) => 'sdk' in row).map((row) => [row.id, (origin: string) => compatClientVar(row.id, origin)])),
};

/** A provider whose clients' variables `exec` sets (a key of CLIENT_VARS: clientProvidersOf checks). */
export type ClientProvider = ProviderName;

/** `exec --providers a,b`: the providers whose variables the program gets, each checked. */
export function clientProvidersOf(list: string): ClientProvider[] {
  const names = list.split(',').map((name) => name.trim().toLowerCase());
  const known = Object.keys(CLIENT_VARS);
  for (const name of names) {
    if (!known.includes(name)) throw new UsageError(`--providers: "${name}" is not one of ${known.join(', ')}`);
  }
  return [...new Set(names)] as ClientProvider[];
}

/**
 * The environment a wrapped command runs with: the base-URL variables of every client of
 * `providers` (default: all) point at the proxy. Keys stay as they are. With an HTTP(S)_PROXY
 * set, loopback joins NO_PROXY, or clients such as httpx would send the proxy's traffic to the
 * corporate proxy.
 */
export function clientEnv(env: NodeJS.ProcessEnv, origin: string, providers: readonly ClientProvider[] = Object.keys(CLIENT_VARS) as ClientProvider[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const provider of providers) Object.assign(out, CLIENT_VARS[provider]?.(origin));
  const proxied = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy'].some((name) => env[name]);
  if (proxied) {
    for (const name of ['NO_PROXY', 'no_proxy']) {
      const list = env[name];
      out[name] = list ? `${list},127.0.0.1,localhost` : '127.0.0.1,localhost';
    }
  }
  return out;
}

/** The address a client can dial to reach a server listening on `host` (0.0.0.0 is not one). */
export function dialableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** An address as one spelling: IPv4-mapped IPv6 as IPv4, lower case, no brackets. */
function canonicalAddress(address: string): string {
  const plain = address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (dotted) return dotted[1] as string;
  // URL writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(plain);
  if (!hex) return plain;
  const [high, low] = [parseInt(hex[1] as string, 16), parseInt(hex[2] as string, 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

async function addressesOf(host: string): Promise<string[]> {
  const plain = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(plain)) return [canonicalAddress(plain)];
  try {
    return (await lookup(plain, { all: true })).map((a) => canonicalAddress(a.address));
  } catch {
    return [];
  }
}

/** The addresses a server listening on `host` answers on. */
async function listeningAddresses(host: string): Promise<(address: string) => boolean> {
  const plain = canonicalAddress(host);
  if (plain === '0.0.0.0' || plain === '::' || plain === '') {
    const local = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => canonicalAddress(i.address))));
    return (a) => local.has(a) || a.startsWith('127.') || a === '::1' || a === '0.0.0.0' || a === '::';
  }
  const own = new Set(await addressesOf(host));
  return (a) => own.has(a);
}

/**
 * The upstream that points back at the proxy's own address and port, if one does: every
 * spelling counts (`localhost`, `[::ffff:127.0.0.1]`, `127.0.0.2` when listening on 0.0.0.0).
 * Names are resolved only when the port matches, so nothing is looked up in the usual case.
 */
export async function loopingUpstream(upstreams: Upstreams, host: string, port: number): Promise<Exclude<keyof Upstreams, 'compat'> | CompatName | null> {
  const { compat, ...own } = upstreams;
  const all = [...Object.entries(own), ...Object.entries(compat ?? {})] as [Exclude<keyof Upstreams, 'compat'> | CompatName, URL | null | undefined][];
  for (const [name, url] of all) {
    if (!url) continue;
    const upstreamPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (upstreamPort !== port) continue;
    const ours = await listeningAddresses(host);
    if ((await addressesOf(url.hostname)).some(ours)) return name;
  }
  return null;
}
