// The proxy's SigV4 gate (src/proxy/aws.ts): a request signed by a client with the user's
// credentials verifies, anything else does not, and the re-signed request verifies at the
// upstream's host and nowhere else. The client side is signed by @smithy/signature-v4, as the
// AWS SDKs sign.
import type { IncomingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { resignSigV4, verifySigV4, type Verified } from '../src/proxy/aws.js';

const CREDENTIALS = { accessKeyId: 'AKIATESTPROXY0000001', secretAccessKey: 'proxyTestSECRETkey/0123456789abcdefghijk', sessionToken: 'proxyTestSESSIONtoken0123' };
const PROXY_HOST = '127.0.0.1:4747';
const PATH = '/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke';
const BODY = Buffer.from('{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}');

/** What a client sends: its request signed for `host` with `credentials`, headers as node:http parses them. */
async function clientRequest(opts: { credentials?: typeof CREDENTIALS; host?: string; body?: Buffer; date?: Date; signedHash?: boolean; path?: string } = {}) {
  const body = opts.body ?? BODY;
  const signer = new SignatureV4({ credentials: opts.credentials ?? CREDENTIALS, region: 'us-east-1', service: 'bedrock', sha256: Hash.bind(null, 'sha256'), applyChecksum: opts.signedHash ?? false });
  const [hostname, port] = (opts.host ?? PROXY_HOST).split(':');
  const path = opts.path ?? PATH;
  const [pathname, search] = path.split('?');
  const query = Object.fromEntries(new URLSearchParams(search ?? ''));
  const signed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: hostname as string, port: Number(port), path: pathname as string, query, headers: { host: opts.host ?? PROXY_HOST, 'content-type': 'application/json', 'content-length': String(body.length) }, body },
    { signingDate: opts.date ?? new Date() },
  );
  const headers: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  return { method: 'POST', target: path, headers, body };
}

const rawOf = (headers: IncomingHttpHeaders) => Object.entries(headers).flatMap(([k, v]) => [k, String(v)]);

describe('verifySigV4', () => {
  it('passes a request signed with the credentials the proxy holds, with or without a signed payload hash', async () => {
    for (const signedHash of [false, true]) {
      const v = (await verifySigV4(await clientRequest({ signedHash }), CREDENTIALS)) as Verified;
      expect(v).toMatchObject({ region: 'us-east-1', service: 'bedrock' });
      expect(v.signedHeaders).toContain('host');
      expect(v.signedHeaders.includes('x-amz-content-sha256')).toBe(signedHash);
    }
    const withQuery = await verifySigV4(await clientRequest({ path: '/model/m/invoke?a=1&b=x%20y' }), CREDENTIALS);
    expect(withQuery).toHaveProperty('signedHeaders');
  });

  it('refuses the wrong secret, another access key, another session token, a stale date, a changed body, path or header', async () => {
    const wrongSecret = await verifySigV4(await clientRequest({ credentials: { ...CREDENTIALS, secretAccessKey: 'anotherSECRET/0000000000000000000000000' } }), CREDENTIALS);
    expect(wrongSecret).toMatchObject({ type: 'InvalidSignatureException' });
    expect(await verifySigV4(await clientRequest({ credentials: { ...CREDENTIALS, accessKeyId: 'AKIAOTHERKEY00000001' } }), CREDENTIALS)).toMatchObject({ type: 'UnrecognizedClientException' });
    expect(await verifySigV4(await clientRequest({ credentials: { ...CREDENTIALS, sessionToken: 'anotherToken' } }), CREDENTIALS)).toMatchObject({ type: 'UnrecognizedClientException' });
    const { sessionToken: _, ...noToken } = CREDENTIALS;
    expect(await verifySigV4(await clientRequest({ credentials: noToken as typeof CREDENTIALS }), CREDENTIALS)).toMatchObject({ type: 'UnrecognizedClientException' });
    const stale = await verifySigV4(await clientRequest({ date: new Date(Date.now() - 16 * 60 * 1000) }), CREDENTIALS);
    expect(stale).toMatchObject({ type: 'InvalidSignatureException', message: expect.stringContaining('more than 15 minutes from now') });
    // Within AWS's 15 minutes it still verifies.
    expect(await verifySigV4(await clientRequest({ date: new Date(Date.now() - 14 * 60 * 1000) }), CREDENTIALS)).toHaveProperty('signedHeaders');

    for (const signedHash of [false, true]) {
      const tampered = { ...(await clientRequest({ signedHash })), body: Buffer.from(BODY.toString().replace('"max_tokens":10', '"max_tokens":99')) };
      expect(await verifySigV4(tampered, CREDENTIALS)).toMatchObject({ type: 'InvalidSignatureException' });
    }
    const otherPath = { ...(await clientRequest()), target: PATH.replace('invoke', 'converse') };
    expect(await verifySigV4(otherPath, CREDENTIALS)).toMatchObject({ type: 'InvalidSignatureException' });
    const req = await clientRequest();
    expect(await verifySigV4({ ...req, headers: { ...req.headers, 'content-type': 'text/plain' } }, CREDENTIALS)).toMatchObject({ type: 'InvalidSignatureException' });
    expect(await verifySigV4({ ...req, headers: { ...req.headers, authorization: undefined } }, CREDENTIALS)).toMatchObject({ type: 'MissingAuthenticationTokenException' });
    expect(await verifySigV4({ ...req, headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 garbage' } }, CREDENTIALS)).toMatchObject({ type: 'IncompleteSignatureException' });
    const bearer = await verifySigV4({ ...req, headers: { ...req.headers, authorization: 'Bearer ABSKQmVkcm9ja0FQSUtleQ==' } }, CREDENTIALS);
    expect(bearer).toMatchObject({ type: 'MissingAuthenticationTokenException', message: expect.stringContaining('AWS_BEARER_TOKEN_BEDROCK') });
  });

  it('names no secret in any message', async () => {
    const messages = [];
    for (const credentials of [{ ...CREDENTIALS, secretAccessKey: 'x' }, { ...CREDENTIALS, accessKeyId: 'AKIAOTHERKEY00000001' }, { ...CREDENTIALS, sessionToken: 'other' }]) {
      messages.push(JSON.stringify(await verifySigV4(await clientRequest({ credentials }), CREDENTIALS)));
    }
    for (const m of messages) {
      expect(m).not.toContain(CREDENTIALS.secretAccessKey);
      expect(m).not.toContain(CREDENTIALS.sessionToken);
      expect(m).toMatch(/^\{"type":"\w+","message":"llm-usage proxy: [^"]+; not sent"\}$/);
    }
  });
});

describe('resignSigV4', () => {
  it('signs for the upstream: the request verifies there, with the headers the client signed, and no longer at the proxy', async () => {
    for (const signedHash of [false, true]) {
      const req = await clientRequest({ signedHash });
      const v = (await verifySigV4(req, CREDENTIALS)) as Verified;
      const upstream = new URL(`https://bedrock-runtime.us-east-1.amazonaws.com${PATH}`);
      // As the proxy forwards them: no host, plus one header the client did not sign.
      const forwarded = rawOf({ ...req.headers, host: undefined, 'accept-encoding': 'gzip' }).filter((_, i, a) => a[i - (i % 2)] !== 'host');
      const sent = await resignSigV4(v, 'POST', upstream, forwarded);
      const headers: IncomingHttpHeaders = { host: upstream.host };
      for (let i = 0; i < sent.length; i += 2) headers[(sent[i] as string).toLowerCase()] = sent[i + 1];
      expect(headers.authorization).not.toBe(req.headers.authorization);
      expect(headers['accept-encoding']).toBe('gzip');
      expect('x-amz-content-sha256' in headers).toBe(signedHash);
      const there = (await verifySigV4({ method: 'POST', target: PATH, headers, body: BODY }, CREDENTIALS)) as Verified;
      expect(there.signedHeaders).toEqual(v.signedHeaders);
      expect(await verifySigV4({ method: 'POST', target: PATH, headers: { ...headers, host: PROXY_HOST }, body: BODY }, CREDENTIALS)).toMatchObject({ type: 'InvalidSignatureException' });
    }
  });
});
