/**
 * The proxy's own answers, in each provider's error format so clients and SDKs read them like
 * the provider's: OpenAI `{"error":{message,type,param,code}}`, Anthropic
 * `{"type":"error","error":{type,message}}`. Every message names llm-usage, so nobody mistakes
 * them for the provider's. Pure.
 */
import type { ProviderName } from '../providers/types.js';

/** How a call refused by --max-cost reads in its record's error line. */
export const REFUSED = 'refused by llm-usage';

export type ProxyRefusal = 'budget' | 'unreachable' | 'timeout' | 'no-route' | 'bad-path' | 'azure' | 'too-large';

interface Shape {
  status: number;
  openai: { type: string; code: string };
  anthropic: string;
}

const SHAPES: Record<ProxyRefusal, Shape> = {
  // OpenAI's own type for an exhausted quota, which clients treat as final rather than retry.
  budget: { status: 429, openai: { type: 'insufficient_quota', code: 'llm_usage_budget_exceeded' }, anthropic: 'rate_limit_error' },
  unreachable: { status: 502, openai: { type: 'server_error', code: 'llm_usage_upstream_unreachable' }, anthropic: 'api_error' },
  timeout: { status: 504, openai: { type: 'server_error', code: 'llm_usage_upstream_timeout' }, anthropic: 'api_error' },
  'no-route': { status: 404, openai: { type: 'invalid_request_error', code: 'llm_usage_no_route' }, anthropic: 'not_found_error' },
  'bad-path': { status: 400, openai: { type: 'invalid_request_error', code: 'llm_usage_bad_path' }, anthropic: 'invalid_request_error' },
  azure: { status: 400, openai: { type: 'invalid_request_error', code: 'llm_usage_azure_no_endpoint' }, anthropic: 'invalid_request_error' },
  'too-large': { status: 413, openai: { type: 'invalid_request_error', code: 'llm_usage_request_too_large' }, anthropic: 'request_too_large' },
};

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function errorReply(provider: ProviderName, refusal: ProxyRefusal, message: string): ErrorReply {
  const shape = SHAPES[refusal];
  const body =
    provider === 'anthropic'
      ? { type: 'error', error: { type: shape.anthropic, message } }
      : { error: { message, type: shape.openai.type, param: null, code: shape.openai.code } };
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
  // Both SDKs retry a 429 unless told not to; a spent budget stays spent.
  if (refusal === 'budget') headers['x-should-retry'] = 'false';
  return { status: shape.status, headers, body: text };
}
