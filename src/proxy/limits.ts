/**
 * The proxy's limits: how long a client may take to send its headers and its request, how long
 * an idle keep-alive connection stays open, how large a request body may be, and how long an
 * upstream may stay silent. Each has a default and an environment variable. Pure.
 */
import { UsageError } from '../errors.js';

export interface ProxyLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxBodyBytes: number;
  upstreamHeadersTimeoutMs: number;
  upstreamBodyTimeoutMs: number;
}

type Unit = 'seconds' | 'bytes';

/** Each limit: its variable, its unit, and its default (seconds or bytes). */
export const LIMIT_VARIABLES: readonly { name: string; key: keyof ProxyLimits; unit: Unit; default: number; what: string }[] = [
  { name: 'LLM_USAGE_PROXY_HEADERS_TIMEOUT', key: 'headersTimeoutMs', unit: 'seconds', default: 30, what: 'time a client has to send its request headers' },
  { name: 'LLM_USAGE_PROXY_REQUEST_TIMEOUT', key: 'requestTimeoutMs', unit: 'seconds', default: 600, what: 'time a client has to send its whole request' },
  { name: 'LLM_USAGE_PROXY_KEEPALIVE_TIMEOUT', key: 'keepAliveTimeoutMs', unit: 'seconds', default: 65, what: 'how long an idle client connection is kept open' },
  { name: 'LLM_USAGE_PROXY_MAX_BODY', key: 'maxBodyBytes', unit: 'bytes', default: 64 * 1024 * 1024, what: 'the largest request body of a metered call' },
  // Reasoning models can think for many minutes before their first byte.
  { name: 'LLM_USAGE_PROXY_UPSTREAM_HEADERS_TIMEOUT', key: 'upstreamHeadersTimeoutMs', unit: 'seconds', default: 900, what: 'time an upstream has to answer' },
  { name: 'LLM_USAGE_PROXY_UPSTREAM_BODY_TIMEOUT', key: 'upstreamBodyTimeoutMs', unit: 'seconds', default: 600, what: 'time an upstream may stay silent mid-response' },
];

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?$/i;
const FACTOR: Record<string, number> = { b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 };

/** The limits, from the environment where it sets them; a value that is not one is a UsageError. */
export function limitsOf(env: NodeJS.ProcessEnv): ProxyLimits {
  const limits = {} as ProxyLimits;
  for (const v of LIMIT_VARIABLES) {
    const raw = env[v.name]?.trim();
    let value = v.default * (v.unit === 'seconds' ? 1000 : 1);
    if (raw) {
      const m = SIZE.exec(raw);
      const unit = (m?.[2] ?? 'b').toLowerCase();
      const n = m ? Number(m[1]) * (v.unit === 'bytes' ? (FACTOR[unit] as number) : 1000) : NaN;
      if (!m || (v.unit === 'seconds' && m[2]) || !(n > 0) || n > 2 ** 31 - 1) {
        const example = v.unit === 'seconds' ? 'a number of seconds, e.g. 30' : 'a size, e.g. 64MiB';
        throw new UsageError(`${v.name}="${raw}": expected ${example} (${v.what})`);
      }
      value = Math.round(n);
    }
    limits[v.key] = value;
  }
  return limits;
}
