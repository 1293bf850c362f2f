/**
 * Bedrock's SigV4 at the proxy. A wrapped program signs its requests for the proxy's address
 * with the user's AWS credentials; the proxy checks that signature against the credentials it
 * finds itself (the AWS SDK's default chain, as the program does), and only a request that
 * verifies is signed again, for the real endpoint, and sent. So the port lends the user's AWS
 * credentials to nobody who does not hold them already. Signing is @smithy/signature-v4's;
 * nothing here computes a signature by hand. No secret ever appears in a message.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SignatureV4 } from '@smithy/signature-v4';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A request whose signature verified: who signed it, for what, and which headers. */
export interface Verified {
  credentials: AwsCredentials;
  region: string;
  service: string;
  /** The headers the client signed (lower case), so the same are signed upstream. */
  signedHeaders: string[];
  /** The body's SHA-256, hex. */
  payloadHash: string;
}

/** Why a request was not let through, in AWS's terms: its error type, and our message. */
export interface Unverified {
  type: 'MissingAuthenticationTokenException' | 'IncompleteSignatureException' | 'UnrecognizedClientException' | 'InvalidSignatureException';
  message: string;
}

// The headers a signature is about, which are replaced when it is signed again.
const SIGNING_HEADERS = new Set(['authorization', 'host', ':authority', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']);
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;:_-]+),\s*Signature=([0-9a-f]{64})$/;
// AWS's own tolerance for a request's clock.
const SKEW_MS = 15 * 60 * 1000;

let signing: Promise<(opts: { credentials: AwsCredentials; region: string; service: string }) => SignatureV4> | null = null;

/** A signer; the library loads with the first AWS request, so exec and proxy start without it. */
async function signerFor(opts: { credentials: AwsCredentials; region: string; service: string }): Promise<SignatureV4> {
  const make = await (signing ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]).then(
    ([{ SignatureV4 }, { Hash }]) =>
      (o: { credentials: AwsCredentials; region: string; service: string }) =>
        // The headers signed are exactly those named: no x-amz-content-sha256 unless the client signed it.
        new SignatureV4({ ...o, sha256: Hash.bind(null, 'sha256'), applyChecksum: false }),
  ));
  return make(opts);
}

/** True when the request carries a SigV4 signature in its Authorization header. */
export function isSigV4(headers: IncomingHttpHeaders): boolean {
  return /^AWS4-HMAC-SHA256 /.test(headers.authorization ?? '');
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** A query string as the signer takes it: decoded, repeated keys as lists. */
function queryOf(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    const [key, value] = (at === -1 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)]).map((s) => decodeURIComponent(s)) as [string, string];
    const had = query[key];
    query[key] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  return query;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `20261202T161500Z` as a Date, or null. */
function amzDate(value: string | undefined): Date | null {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(value ?? '');
  if (!m) return null;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Checks the SigV4 signature of a request as it arrived (`target`: its path and query, as sent)
 * against `credentials`: the access key and session token must be ours, the date within AWS's
 * 15 minutes, the body the one whose hash was signed, and the signature the one our secret
 * makes of all that.
 */
export async function verifySigV4(
  req: { method: string; target: string; headers: IncomingHttpHeaders; body: Buffer },
  credentials: AwsCredentials,
  now: number = Date.now(),
): Promise<Verified | Unverified> {
  const auth = header(req.headers, 'authorization');
  if (!auth) return { type: 'MissingAuthenticationTokenException', message: 'llm-usage proxy: the request has no AWS signature; not sent' };
  if (/^Bearer /i.test(auth)) {
    return { type: 'MissingAuthenticationTokenException', message: 'llm-usage proxy: Bedrock API keys (AWS_BEARER_TOKEN_BEDROCK) are not metered yet: unset it, so the program signs with your AWS credentials; not sent' };
  }
  const m = AUTHORIZATION.exec(auth);
  if (!m) return { type: 'IncompleteSignatureException', message: 'llm-usage proxy: the Authorization header is not an AWS4-HMAC-SHA256 signature; not sent' };
  const [, accessKeyId, day, region, service, list, signature] = m as unknown as [string, string, string, string, string, string, string];
  const mismatch = (why: string): Unverified => ({ type: 'InvalidSignatureException', message: `llm-usage proxy: the request's AWS signature does not verify (${why}); not sent` });
  if (!sameText(accessKeyId, credentials.accessKeyId)) {
    return { type: 'UnrecognizedClientException', message: 'llm-usage proxy: the request is signed with another access key than the AWS credentials llm-usage found; not sent' };
  }
  const token = header(req.headers, 'x-amz-security-token');
  if ((token ?? '') !== '' || credentials.sessionToken) {
    if (!sameText(token ?? '', credentials.sessionToken ?? '')) {
      return { type: 'UnrecognizedClientException', message: 'llm-usage proxy: the request carries another session token than the AWS credentials llm-usage found; not sent' };
    }
  }
  const date = header(req.headers, 'x-amz-date');
  const signingDate = amzDate(date);
  if (!signingDate || date?.slice(0, 8) !== day) return mismatch('no x-amz-date, or not the day of its scope');
  if (Math.abs(now - signingDate.getTime()) > SKEW_MS) return mismatch(`signed at ${date}, more than 15 minutes from now`);
  const signedHeaders = list.split(';');
  if (!signedHeaders.includes('x-amz-date') || (!signedHeaders.includes('host') && !signedHeaders.includes(':authority'))) return mismatch('host and x-amz-date must be signed');
  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  const declared = header(req.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== payloadHash) return mismatch('the body is not the one signed');

  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = name === 'host' ? (header(req.headers, 'host') ?? header(req.headers, ':authority')) : header(req.headers, name);
    if (value === undefined) return mismatch(`the signed header ${name} is missing`);
    headers[name] = value;
  }
  const queryAt = req.target.indexOf('?');
  let query: Record<string, string | string[]>;
  try {
    query = queryOf(queryAt === -1 ? '' : req.target.slice(queryAt));
  } catch {
    return mismatch('a malformed query');
  }
  const signer = await signerFor({ credentials, region, service });
  const expected = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: 'localhost', path: queryAt === -1 ? req.target : req.target.slice(0, queryAt), query, headers, body: req.body },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const ours = /Signature=([0-9a-f]{64})/.exec(String(expected.headers['authorization']))?.[1] ?? '';
  if (!sameText(ours, signature)) return mismatch('not signed with the secret key of the AWS credentials llm-usage found');
  return { credentials, region, service, signedHeaders, payloadHash };
}

/**
 * The headers to send upstream, signed for `url` with the credentials that verified: `headers`
 * (a raw list, end-to-end headers only, as the proxy sends them) without the old signature's
 * headers, then the new ones. The headers the client signed are signed again, with the values
 * sent; the body must be the one verified.
 */
export async function resignSigV4(v: Verified, method: string, url: URL, headers: readonly string[]): Promise<string[]> {
  const kept: string[] = [];
  const toSign: Record<string, string> = { host: url.host };
  const names = new Set(v.signedHeaders.filter((n) => !SIGNING_HEADERS.has(n)));
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    if (SIGNING_HEADERS.has(name)) continue;
    kept.push(headers[i] as string, headers[i + 1] as string);
    if (names.has(name)) toSign[name] = toSign[name] === undefined ? (headers[i + 1] as string) : `${toSign[name]},${headers[i + 1]}`;
  }
  // The body's hash as verified, so the body is not hashed again; sent only if it was before.
  const hashSigned = v.signedHeaders.includes('x-amz-content-sha256');
  toSign['x-amz-content-sha256'] = v.payloadHash;
  const signer = await signerFor({ credentials: v.credentials, region: v.region, service: v.service });
  const signed = await signer.sign(
    { method, protocol: url.protocol, hostname: url.hostname, path: url.pathname, query: queryOf(url.search), headers: toSign },
    { signableHeaders: new Set(Object.keys(toSign).filter((n) => hashSigned || n !== 'x-amz-content-sha256')), unsignableHeaders: new Set(hashSigned ? [] : ['x-amz-content-sha256']) },
  );
  for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token', ...(hashSigned ? ['x-amz-content-sha256'] : [])]) {
    const value = signed.headers[name];
    if (value !== undefined) kept.push(name, value);
  }
  return kept;
}

const SILENT = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** A verified request: where it goes, and its headers signed for there. */
export interface Admitted {
  /** The endpoint (as configured, or the region's), and the request's URL on it. */
  endpoint: URL;
  url: URL;
  sign(headers: readonly string[]): Promise<string[]>;
}

/** The public endpoint of a region (the region is the signature's, checked to be a name). */
export function regionalEndpoint(region: string): URL {
  return new URL(`https://bedrock-runtime.${region}.amazonaws.com`);
}

/**
 * The proxy's side of Bedrock: the user's credentials, found once they are first needed (the
 * AWS SDK's default chain, refreshed by it as they expire), each request checked against them,
 * and sent to `endpoint`, or, without one, to the public endpoint of the region it is signed for.
 */
export class AwsGate {
  private provider: Promise<() => Promise<AwsCredentials>> | null = null;

  constructor(
    private readonly endpoint: URL | null,
    /** Where credentials come from; by default the AWS SDK's chain. */
    private readonly credentials?: () => Promise<AwsCredentials>,
  ) {}

  /** `target`: the request's path and query as it came, already checked to stay on its path. */
  async admit(req: { method: string; target: string; headers: IncomingHttpHeaders; body: Buffer }): Promise<Admitted | Unverified> {
    let credentials: AwsCredentials;
    try {
      credentials = await (await (this.provider ??= this.chain()))();
    } catch {
      return {
        type: 'UnrecognizedClientException',
        message: 'llm-usage proxy: found no AWS credentials to check the request\'s signature against (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as for the program); not sent',
      };
    }
    const v = await verifySigV4(req, credentials);
    if ('type' in v) return v;
    const base = this.endpoint ?? regionalEndpoint(v.region);
    const url = new URL(`${base.pathname.replace(/\/+$/, '')}${req.target}`, base.origin);
    return { endpoint: base, url, sign: (headers) => resignSigV4(v, req.method, url, headers) };
  }

  private async chain(): Promise<() => Promise<AwsCredentials>> {
    if (this.credentials) return this.credentials;
    // The SDK warns on stderr about Node versions it will stop supporting: not our users' concern.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    // Memoised by the SDK, refreshed before expiry. Its warnings (both a profile and keys set, …)
    // would go to console.warn without a logger of our own: they are the program's to give.
    return fromNodeProviderChain({ logger: SILENT });
  }
}
