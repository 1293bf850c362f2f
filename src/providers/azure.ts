/**
 * Azure OpenAI's row: where a call goes and how it authenticates, read from the variables the
 * official `AzureOpenAI` client reads. SDK-free, so plan and the proxy can use it.
 *
 * Azure speaks OpenAI's wire formats (chat, legacy completions, embeddings, Responses), so its
 * calls are made by openai-chat.ts and openai-completions.ts with an Azure client
 * (azure-openai.ts) and metered by the OpenAI readers in src/wire.
 */
import { UsageError } from '../errors.js';

export const AZURE_ENDPOINT_VAR = 'AZURE_OPENAI_ENDPOINT';
export const AZURE_KEY_VAR = 'AZURE_OPENAI_API_KEY';
export const AZURE_AD_TOKEN_VAR = 'AZURE_OPENAI_AD_TOKEN';
export const AZURE_API_VERSION_VAR = 'OPENAI_API_VERSION';
export const AZURE_EXAMPLE_ENDPOINT = 'https://RESOURCE.openai.azure.com';

/** The latest GA version of Azure OpenAI's data-plane inference API, used when OPENAI_API_VERSION is unset. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/** `azure/DEPLOYMENT` as a --model: the deployment, or null for any other name. */
export function azureDeploymentOf(model: string): string | null {
  const m = /^azure\/(.+)$/i.exec(model.trim());
  return m ? (m[1] as string) : null;
}

export interface AzureConnection {
  /** The resource's endpoint, https://RESOURCE.openai.azure.com, without a trailing slash. */
  endpoint: string;
  /** The api-key, or the Entra ID token when `adToken`. */
  apiKey: string;
  adToken: boolean;
  apiVersion: string;
}

/**
 * Where an Azure call goes and its credentials: the endpoint from --base-url or
 * AZURE_OPENAI_ENDPOINT (given with /openai or /openai/v1, those are dropped: the client adds
 * the path), the key from AZURE_OPENAI_API_KEY, else an Entra ID token from
 * AZURE_OPENAI_AD_TOKEN, the version from OPENAI_API_VERSION. What is missing is a UsageError
 * naming what to set (the key only when `requireKey`: a dry run sends nothing).
 */
export function azureConnection(flag: string | undefined, env: NodeJS.ProcessEnv, requireKey: boolean): AzureConnection {
  const source = flag !== undefined ? '--base-url' : AZURE_ENDPOINT_VAR;
  const given = flag ?? env[AZURE_ENDPOINT_VAR] ?? '';
  if (!given.trim()) {
    throw new UsageError(`no Azure OpenAI endpoint: set ${AZURE_ENDPOINT_VAR} (${AZURE_EXAMPLE_ENDPOINT}), or give --base-url`);
  }
  const endpoint = checkedEndpoint(given, source);
  const key = env[AZURE_KEY_VAR]?.trim() ?? '';
  const token = env[AZURE_AD_TOKEN_VAR]?.trim() ?? '';
  if (!key && !token && requireKey) {
    throw new UsageError(`no Azure OpenAI key: set ${AZURE_KEY_VAR}, or ${AZURE_AD_TOKEN_VAR} for a Microsoft Entra ID token`);
  }
  const apiVersion = env[AZURE_API_VERSION_VAR]?.trim() || AZURE_DEFAULT_API_VERSION;
  if (!/^\d{4}-\d{2}-\d{2}(-preview)?$|^(v1|latest|preview)$/.test(apiVersion)) {
    throw new UsageError(`${AZURE_API_VERSION_VAR} "${apiVersion}" is not an API version: give one such as ${AZURE_DEFAULT_API_VERSION}, or unset it`);
  }
  return { endpoint, apiKey: key || token, adToken: !key && Boolean(token), apiVersion };
}

function checkedEndpoint(value: string, source: string): string {
  const example = AZURE_EXAMPLE_ENDPOINT;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    // Never echo a password that was meant for the URL's user:password@ part.
    throw new UsageError(`${source} "${value.replace(/\/\/[^/]*@/, '//***@')}" is not a URL: give one such as ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${source}: ${url.protocol}// is not supported: give an http:// or https:// URL such as ${example}`);
  if (url.search || url.hash) throw new UsageError(`${source} must not have a query or #fragment: give one such as ${example}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/openai(\/v1)?$/, '')}`;
}
