// A plain-HTTP program that signs its own Bedrock requests with SigV4 (@smithy/signature-v4,
// as boto3 and the SDKs sign), over node:http (HTTP/1.1), to AWS_ENDPOINT_URL_BEDROCK_RUNTIME.
// Writes each response's status, error type and body bytes (base64).
// Usage: node sigv4-bedrock.mjs OUT.json [invoke|invoke-stream|converse|converse-stream|count-tokens]... [--secret S]
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

const args = process.argv.slice(2);
const out = args.shift();
const secretAt = args.indexOf('--secret');
const secret = secretAt === -1 ? undefined : args.splice(secretAt, 2)[1];
const plan = args.length ? args : ['invoke', 'invoke-stream', 'converse', 'converse-stream'];
const endpoint = new URL(process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME);
// Keys from the environment, else the AWS default chain (a profile), as programs find them.
const credentials = process.env.AWS_ACCESS_KEY_ID
  ? { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY, sessionToken: process.env.AWS_SESSION_TOKEN }
  : await (await import('@aws-sdk/credential-providers')).fromNodeProviderChain()();
const signer = new SignatureV4({
  credentials: { ...credentials, ...(secretAt === -1 ? {} : { secretAccessKey: secret }) },
  region: process.env.AWS_REGION,
  service: 'bedrock',
  sha256: Hash.bind(null, 'sha256'),
});
const claude = encodeURIComponent('anthropic.claude-3-haiku-20240307-v1:0');
const nova = encodeURIComponent('amazon.nova-lite-v1:0');
const anthropic = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 200, messages: [{ role: 'user', content: 'Tell me a joke' }] };
const converse = { messages: [{ role: 'user', content: [{ text: 'Tell me a joke' }] }], inferenceConfig: { maxTokens: 200 } };
const CALLS = {
  invoke: [`/model/${claude}/invoke`, anthropic],
  'invoke-stream': [`/model/${claude}/invoke-with-response-stream`, anthropic],
  converse: [`/model/${nova}/converse`, converse],
  'converse-stream': [`/model/${nova}/converse-stream`, converse],
  'count-tokens': [`/model/${claude}/count-tokens`, { input: { invokeModel: { body: JSON.stringify(anthropic) } } }],
};

async function call(name) {
  const [path, json] = CALLS[name];
  const body = JSON.stringify(json);
  const signed = await signer.sign({
    method: 'POST',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: Number(endpoint.port),
    path,
    query: {},
    headers: { host: endpoint.host, 'content-type': 'application/json', accept: name.endsWith('stream') ? 'application/vnd.amazon.eventstream' : 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, endpoint), { method: 'POST', headers: signed.headers }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ name, status: res.statusCode, type: res.headers['x-amzn-errortype'] ?? null, body: Buffer.concat(parts).toString('base64') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const results = [];
for (const name of plan) results.push(await call(name));
writeFileSync(out, JSON.stringify(results, null, 1));
