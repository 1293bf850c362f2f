/**
 * The Azure OpenAI client: the `openai` package's `AzureOpenAI`, which puts the deployment in
 * the path (`/openai/deployments/{model}/chat/completions?api-version=...`) and sends the key
 * as `api-key` (an Entra ID token as a bearer). Everything else about a call is OpenAI's, so
 * openai-chat.ts and openai-completions.ts make Azure calls with this client.
 */
import { AzureOpenAI } from 'openai';
import type { CallEvents, CallSpec } from './types.js';
import { attemptLoggingFetch } from './transport.js';

/** One client per call, like openAIClient. Every setting is passed: none is read from the environment. */
export function azureOpenAIClient(spec: CallSpec & { azure: NonNullable<CallSpec['azure']> }, events?: CallEvents): AzureOpenAI {
  const onLog = events?.onLog;
  const token = spec.apiKey;
  return new AzureOpenAI({
    // baseURL rather than endpoint: AzureOpenAI would read OPENAI_BASE_URL, meant for OpenAI, as its base URL.
    baseURL: `${spec.baseURL}/openai`,
    apiVersion: spec.azure.apiVersion,
    ...(spec.azure.adToken ? { azureADTokenProvider: async () => token } : { apiKey: spec.apiKey }),
    ...(spec.maxRetries !== undefined && { maxRetries: spec.maxRetries }),
    // Azure sends OpenAI's x-request-id (and its own apim-request-id).
    ...(onLog && { fetch: attemptLoggingFetch(onLog, 'x-request-id') }),
  });
}
