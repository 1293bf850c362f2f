/**
 * The proxy's own answers, in each provider's error format so clients and SDKs read them like
 * the provider's: OpenAI `{"error":{message,type,param,code}}`, Anthropic
 * `{"type":"error","error":{type,message}}`, AWS `{"message"}` with its type in
 * `x-amzn-errortype`. Every message names llm-usage, so nobody mistakes them for the
 * provider's. Pure.
 */
import type { ProviderName } from '../providers/types.js';

/** How a call refused by --max-cost reads in its record's error line. */
export const REFUSED = 'refused by llm-usage';

export type ProxyRefusal = 'budget' | 'unreachable' | 'timeout' | 'no-route' | 'bad-path' | 'azure' | 'too-large' | 'signature';

interface Shape {
  status: number;
  openai: { type: string; code: string };
  anthropic: string;
  /** AWS's error type (x-amzn-errortype), and its status where it differs. */
  aws: { type: string; status?: number };
}

const SHAPES: Record<ProxyRefusal, Shape> = {
  // OpenAI's own type for an exhausted quota, which clients treat as final rather than retry.
  // The AWS SDKs retry every 429 (and ignore x-should-retry): Bedrock's own non-retried quota error.
  budget: { status: 429, openai: { type: 'insufficient_quota', code: 'llm_usage_budget_exceeded' }, anthropic: 'rate_limit_error', aws: { type: 'ServiceQuotaExceededException', status: 400 } },
  unreachable: { status: 502, openai: { type: 'server_error', code: 'llm_usage_upstream_unreachable' }, anthropic: 'api_error', aws: { type: 'ServiceUnavailableException' } },
  timeout: { status: 504, openai: { type: 'server_error', code: 'llm_usage_upstream_timeout' }, anthropic: 'api_error', aws: { type: 'ModelTimeoutException' } },
  'no-route': { status: 404, openai: { type: 'invalid_request_error', code: 'llm_usage_no_route' }, anthropic: 'not_found_error', aws: { type: 'UnknownOperationException' } },
  'bad-path': { status: 400, openai: { type: 'invalid_request_error', code: 'llm_usage_bad_path' }, anthropic: 'invalid_request_error', aws: { type: 'ValidationException' } },
  azure: { status: 400, openai: { type: 'invalid_request_error', code: 'llm_usage_azure_not_metered' }, anthropic: 'invalid_request_error', aws: { type: 'ValidationException' } },
  'too-large': { status: 413, openai: { type: 'invalid_request_error', code: 'llm_usage_request_too_large' }, anthropic: 'request_too_large', aws: { type: 'ValidationException' } },
  signature: { status: 403, openai: { type: 'invalid_request_error', code: 'llm_usage_bad_signature' }, anthropic: 'permission_error', aws: { type: 'InvalidSignatureException' } },
};

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** `awsType`: a more precise AWS error type than the refusal's own (which signature check failed). */
export function errorReply(provider: ProviderName, refusal: ProxyRefusal, message: string, awsType?: string): ErrorReply {
  const shape = SHAPES[refusal];
  if (provider === 'bedrock') {
    // AWS's REST-JSON error: the type in a header, the message in the body.
    const text = JSON.stringify({ message });
    const type = awsType ?? shape.aws.type;
    return { status: shape.aws.status ?? shape.status, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'x-amzn-errortype': type }, body: text };
  }
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
