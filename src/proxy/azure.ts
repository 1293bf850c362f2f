/**
 * Azure OpenAI's routes through the metering proxy. Pure.
 *
 * Azure clients reach the proxy two ways: with AZURE_OPENAI_ENDPOINT pointing at it, as
 * `/openai/deployments/{name}/chat/completions?api-version=...` or `/openai/v1/...`; or, when
 * `AzureOpenAI` takes OPENAI_BASE_URL (which exec also sets) as its base URL, the same paths
 * under `/v1` in place of `/openai`, told from OpenAI's by their `api-key` header, their
 * `/deployments/` path or their `api-version` query. Either way the request goes to the Azure
 * upstream at `/openai/...`, as it would have without llm-usage, with its key untouched; and
 * only there: with no Azure upstream configured it is refused and sent nowhere.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RecordApi } from '../record.js';
import type { Refusal, Route } from './routes.js';

// The APIs metered under /openai/deployments/{name} and under /openai/v1.
const DEPLOYMENT_APIS: Record<string, RecordApi> = { '/chat/completions': 'chat', '/completions': 'completions', '/embeddings': 'embeddings' };
const V1_APIS: Record<string, RecordApi> = { ...DEPLOYMENT_APIS, '/responses': 'responses' };

/**
 * The Azure path (`/openai/...`) of a request, or null when it is not an Azure request. `path`
 * is normalised; `rest` is it without a leading /v1, when `underV1`.
 */
export function azurePathOf(path: string, underV1: boolean, rest: string, query: string, headers: IncomingHttpHeaders): string | null {
  const underOpenAI = (p: string) => p === '/openai' || p.startsWith('/openai/');
  if (!underV1) return underOpenAI(path) ? path : null;
  // Older clients put /openai after their base URL's /v1 themselves.
  if (underOpenAI(rest)) return rest;
  const azure = headers['api-key'] !== undefined || rest.startsWith('/deployments/') || /[?&]api-version=/.test(query);
  return azure ? `/openai${rest === '/' ? '' : rest}` : null;
}

/** The route of an Azure request to `upstream` (the resource's endpoint), or its refusal when there is none. */
export function azureRouteOf(method: string, azurePath: string, query: string, upstream: URL | undefined): Route | Refusal {
  if (!upstream) {
    return {
      refusal: 'azure',
      provider: 'openai',
      message: 'llm-usage proxy: this Azure OpenAI request was not sent anywhere: no Azure endpoint is configured (set AZURE_OPENAI_ENDPOINT, or --azure-upstream URL)',
    };
  }
  const deployment = /^\/openai\/deployments\/([^/]+)(\/.*)?$/.exec(azurePath);
  const v1 = /^\/openai\/v1(\/.*)?$/.exec(azurePath);
  let api: RecordApi | null = null;
  if (method === 'POST') {
    if (deployment) api = DEPLOYMENT_APIS[deployment[2] ?? ''] ?? null;
    else if (v1) api = V1_APIS[v1[1] ?? ''] ?? null;
    else if (azurePath === '/openai/responses') api = 'responses';
  }
  const route: Route = { provider: 'azure', api, upstreamPath: upstream.pathname.replace(/\/+$/, '') + azurePath + query };
  if (api && deployment) route.deployment = decoded(deployment[1] as string);
  return route;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
