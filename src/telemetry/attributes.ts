/**
 * What a call's record becomes in OpenTelemetry: the attributes of its metric points and of its
 * span. Pure; reads only counts, names and outcomes from the record, never its text (a record
 * holds the reply) nor anything of the request.
 */
import { compatRow, isCompat } from '../providers/compat.js';
import { PUBLIC_UPSTREAMS } from '../proxy/routes.js';
import type { CallSpec } from '../providers/types.js';
import type { CallRecord } from '../record.js';
import { ATTR, OPERATION, PROVIDER } from './semconv.js';
import { tagAttributes, type Tags } from './tags.js';

export type Attributes = Record<string, string | number>;

/** What a record does not say: which command made it, in which run, where it went. */
export interface CallContext {
  command: string;
  runId: string;
  tags: Tags;
}

/** Where a call went, as server.address and server.port. */
export interface Server {
  address: string;
  port: number;
}

/** A base URL as the server it names (the scheme's port when none is given). */
export function serverOf(url: string | URL | undefined): Server | null {
  if (!url) return null;
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return { address: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 };
  } catch {
    return null;
  }
}

/** Where a run or stream call went: its base URL, else the provider's public endpoint. */
export function serverOfSpec(spec: Pick<CallSpec, 'provider' | 'baseURL' | 'aws'>): Server | null {
  if (spec.baseURL) return serverOf(spec.baseURL);
  if (spec.provider === 'bedrock') return spec.aws ? { address: `bedrock-runtime.${spec.aws.region}.amazonaws.com`, port: 443 } : null;
  // Azure has no public endpoint: its calls always name their resource (baseURL).
  if (isCompat(spec.provider)) return serverOf(compatRow(spec.provider).baseUrl);
  return spec.provider === 'azure' ? null : serverOf(PUBLIC_UPSTREAMS[spec.provider]);
}

export function operationOf(record: Pick<CallRecord, 'api'>): string {
  return OPERATION[record.api] ?? record.api;
}

/** error.type: the HTTP status when there was one, else the kind of failure. */
export function errorTypeOf(record: CallRecord): string | null {
  if (record.ok) return null;
  if (record.status !== null) return String(record.status);
  return record.error_kind ?? '_OTHER';
}

/** The attributes every metric point of the call carries (low cardinality: no ids). */
export function metricAttributes(record: CallRecord, ctx: CallContext, server: Server | null): Attributes {
  const a: Attributes = {
    [ATTR.operationName]: operationOf(record),
    [ATTR.providerName]: PROVIDER[record.provider] ?? record.provider,
    [ATTR.requestModel]: record.requested_model,
  };
  if (record.ok) a[ATTR.responseModel] = record.model;
  if (server) {
    a[ATTR.serverAddress] = server.address;
    a[ATTR.serverPort] = server.port;
  }
  const error = errorTypeOf(record);
  if (error !== null) a[ATTR.errorType] = error;
  a[ATTR.command] = ctx.command;
  return Object.assign(a, tagAttributes(ctx.tags, ATTR.tagPrefix));
}

/** The span's attributes: the metric attributes, the usage, the cost, where the usage came from, the run. */
export function spanAttributes(record: CallRecord, ctx: CallContext, server: Server | null): Attributes {
  const u = record.usage;
  const a = metricAttributes(record, ctx, server);
  a[ATTR.usageInputTokens] = u.input_tokens;
  a[ATTR.usageOutputTokens] = u.output_tokens;
  a[ATTR.usageCacheReadInputTokens] = u.input_token_details.cache_read;
  a[ATTR.usageCacheCreationInputTokens] = u.input_token_details.cache_creation;
  a[ATTR.usageReasoningOutputTokens] = u.output_token_details.reasoning;
  if (record.cost_usd !== null) a[ATTR.costUsd] = record.cost_usd;
  a[ATTR.usageSource] = record.usage_source;
  a[ATTR.runId] = ctx.runId;
  return a;
}

/** The span's name: `{gen_ai.operation.name} {gen_ai.request.model}`. */
export function spanName(record: CallRecord): string {
  return `${operationOf(record)} ${record.requested_model}`;
}
