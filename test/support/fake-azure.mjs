// The Azure OpenAI half of the fake provider (mounted by ./fake-provider.mjs for paths under
// /openai/): which deployment and API a request is for, Azure's own checks (api-version
// required, the api-key or Entra ID bearer), its error shapes, and its additions to OpenAI's
// bodies (prompt_filter_results, the first stream chunk with empty choices and model "").
//
// Two path forms, as Azure serves them:
//   /openai/deployments/{deployment}/chat/completions|completions|embeddings?api-version=...
//   /openai/v1/chat/completions|completions|embeddings|responses (the deployment is the body's model)
// The reply's `model` is the model behind the deployment (gpt-4o-2024-08-06), never the
// deployment's name, unless the test's reply names one.

import { randomUUID } from 'node:crypto';

/** The models behind every deployment, by API, unless a reply says otherwise. */
export const AZURE_MODELS = Object.freeze({
  chat: 'gpt-4o-2024-08-06',
  completions: 'gpt-35-turbo-instruct',
  embeddings: 'text-embedding-3-small',
  responses: 'gpt-4o-2024-08-06',
});

/** API versions this fake accepts on the deployments form: dated GA and preview versions. */
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

const KINDS = { '/chat/completions': 'chat', '/completions': 'completions', '/embeddings': 'embeddings', '/responses': 'responses' };

const SAFE = { filtered: false, severity: 'safe' };
const CONTENT_FILTER = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };

/** Azure's report on the prompt, on a body and on the first chunk of a stream. */
export function promptFilterResults() {
  return [{ prompt_index: 0, content_filter_results: { ...CONTENT_FILTER, jailbreak: { filtered: false, detected: false } } }];
}

/** The chunk every Azure chat or completions stream opens with: no choices, no model, no usage. */
export function promptFilterChunk() {
  return `data: ${JSON.stringify({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilterResults() })}\n\n`;
}

/** What Azure adds to each choice of a reply. */
export function choiceFilterResults() {
  return { ...CONTENT_FILTER };
}

/** Azure's error body: `{"error":{"code","message"}}` (its codes are strings, its types absent). */
export function azureError(status, code, message) {
  return { status, body: { error: { code, message } }, headers: { 'apim-request-id': randomUUID(), 'x-request-id': randomUUID() } };
}

/** The error Azure gives for a reply status, in its shape. */
export function azureErrorFor(status, reply) {
  const known = {
    400: ['BadRequest', 'Invalid request.'],
    401: ['401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.'],
    404: ['DeploymentNotFound', 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.'],
    429: ['429', 'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second.'],
    500: ['InternalServerError', 'The server had an error while processing your request.'],
  };
  const [code, message] = known[status] ?? (status >= 500 ? known[500] : known[400]);
  return { error: { code: reply.errorCode ?? code, message: reply.errorMessage ?? message } };
}

/**
 * What a request under /openai/ is: `{ reject }` (Azure's own error, nothing else happens),
 * `{ kind, deployment, model }` for an API the fake serves, or null for a path it does not know.
 * `keys`: the api-key and Entra ID token the fake accepts (any non-empty one when unset).
 */
export function azureRoute(method, url, headers, keys = {}) {
  const path = url.pathname;
  const deployments = /^\/openai\/deployments\/([^/]+)(\/.*)$/.exec(path);
  const v1 = /^\/openai\/v1(\/.*)$/.exec(path);
  const rest = deployments ? deployments[2] : v1 ? v1[1] : path.replace(/^\/openai/, '');
  const kind = method === 'POST' ? KINDS[rest] : undefined;
  if (!kind || (!deployments && !v1 && kind !== 'responses')) return null;

  // Azure answers a deployments path without api-version as if the resource did not exist.
  const version = url.searchParams.get('api-version');
  if (!v1) {
    if (version === null) return { reject: azureError(404, '404', 'Resource not found') };
    if (!API_VERSION.test(version)) return { reject: azureError(400, 'BadRequest', 'API version not supported') };
  }

  const apiKey = headers['api-key'];
  const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
  const keyOk = apiKey !== undefined && apiKey !== '' && (keys.apiKey === undefined || apiKey === keys.apiKey);
  const anyKey = keys.apiKey === undefined && keys.adToken === undefined;
  const tokenOk = Boolean(bearer) && (anyKey || bearer === keys.adToken || (v1 !== null && bearer === keys.apiKey));
  if (!keyOk && !tokenOk) {
    const error = azureErrorFor(401, {});
    return { reject: { status: 401, body: error, headers: { 'apim-request-id': randomUUID() } } };
  }
  return { kind, deployment: deployments ? decodeURIComponent(deployments[1]) : null, model: AZURE_MODELS[kind] };
}
