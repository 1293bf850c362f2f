// A local fake of the Amazon Bedrock runtime: one port on 127.0.0.1 that speaks HTTP/1.1 and
// HTTP/2 cleartext (prior knowledge, which the AWS SDK v3's default handler uses), checks the
// SigV4 signature of every request against known test credentials exactly as AWS does, and
// answers the four runtime operations in AWS's own shapes:
//
//   POST /model/{modelId}/invoke                        InvokeModel (Anthropic messages JSON)
//   POST /model/{modelId}/invoke-with-response-stream   InvokeModelWithResponseStream
//   POST /model/{modelId}/converse                      Converse
//   POST /model/{modelId}/converse-stream               ConverseStream
//
// Event streams are binary `application/vnd.amazon.eventstream` frames encoded with
// @smithy/eventstream-codec, every frame written in two pieces (one of them splitting the
// 4-byte length prelude) so that readers assuming whole frames per read fail here.
//
// Types: ./fake-bedrock.d.mts.

import { createHash, randomUUID } from 'node:crypto';
import { createServer as createHttp1Server } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export const DEFAULT_TEXT = "Why don't scientists trust atoms?\n\nBecause they make up everything!";
export const DEFAULT_USAGE = Object.freeze({ input: 11, output: 16 });

/** The credentials the fake accepts unless told otherwise. Distinctive, so tests can look for leaks. */
// Not frozen: the AWS SDK writes a `$source` mark on the credentials object it is given.
export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIAFAKEBEDROCK00001',
  secretAccessKey: 'fakeBedrockSECRETkey/0123456789abcdefghij',
  sessionToken: 'fakeBedrockSESSIONtoken0123456789',
};
export const TEST_REGION = 'us-east-1';

const OPERATIONS = new Set(['invoke', 'invoke-with-response-stream', 'converse', 'converse-stream']);
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const CODEC = new EventStreamCodec(
  (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/** The AWS error type of an HTTP status, when a reply names only the status. */
const ERROR_TYPES = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};
const ERROR_MESSAGES = {
  ThrottlingException: 'Too many requests, please wait before trying again.',
  ValidationException: 'The provided model identifier is invalid.',
  AccessDeniedException: "You don't have access to the model with the specified model ID.",
  ResourceNotFoundException: 'Could not resolve the foundation model from the provided model identifier.',
  ServiceUnavailableException: 'Bedrock is unable to process your request.',
  InternalServerException: 'The server encountered an internal error.',
  ModelTimeoutException: 'Model has timed out in processing the request.',
  ModelErrorException: 'The model failed to process the request.',
};

/**
 * Starts the fake Bedrock runtime.
 * @param {{ port?: number, region?: string, credentials?: {accessKeyId: string, secretAccessKey: string, sessionToken?: string}, defaultReply?: object }} [options]
 */
export async function startFakeBedrock(options = {}) {
  const credentials = { ...(options.credentials ?? TEST_CREDENTIALS) };
  const region = options.region ?? TEST_REGION;
  const initialDefault = options.defaultReply ?? {};
  let defaultReply = initialDefault;
  let replyQueue = [];
  const requests = [];
  const sockets = new Set();
  let host = '';

  const handler = (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendAwsError(res, 500, 'InternalServerException', `fake bedrock: ${err?.stack ?? err}`);
      else res.destroy();
    });
  };
  const http1 = createHttp1Server(handler);
  const http2 = createHttp2Server(handler);

  async function handle(req, res) {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/model\/([^/]+)\/([a-z-]+)$/.exec(url.pathname);
    const operation = match && OPERATIONS.has(match[2]) ? match[2] : null;
    let modelId = null;
    try {
      modelId = match ? decodeURIComponent(match[1]) : null;
    } catch {
      modelId = null;
    }
    let body = null;
    try {
      body = raw.length ? JSON.parse(raw.toString('utf8')) : null;
    } catch {
      body = null;
    }
    const headers = { ...req.headers };
    const auth = await verifySignature(req, url, raw, { credentials, region, host });
    requests.push({
      method: req.method,
      path: url.pathname,
      url: req.url,
      httpVersion: req.httpVersion,
      operation,
      modelId,
      headers,
      body,
      raw: raw.toString('utf8'),
      signature: auth.ok ? 'valid' : auth.type,
    });
    // AWS checks the signature before it looks at the operation.
    if (!auth.ok) return sendAwsError(res, 403, auth.type, auth.message);
    if (req.method !== 'POST' || !operation || !modelId) {
      return sendAwsError(res, 404, 'UnknownOperationException', null);
    }
    if (!body || typeof body !== 'object') {
      return sendAwsError(res, 400, 'ValidationException', 'Malformed input request, please reformat your input and try again.');
    }
    const reply = normaliseReply(replyQueue.length ? replyQueue.shift() : defaultReply);
    if (reply.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (reply.status >= 400) {
      const type = reply.errorType ?? ERROR_TYPES[reply.status] ?? 'InternalServerException';
      return sendAwsError(res, reply.status, type, reply.errorMessage ?? ERROR_MESSAGES[type] ?? 'error', reply.headers);
    }
    const ctx = { req, res, body, reply, modelId, model: reply.model ?? modelId };
    switch (operation) {
      case 'invoke':
        return invoke(ctx);
      case 'invoke-with-response-stream':
        return invokeStream(ctx);
      case 'converse':
        return converse(ctx);
      case 'converse-stream':
        return converseStream(ctx);
    }
  }

  // One port for both protocols: the first bytes of a connection tell HTTP/2's preface
  // ("PRI * HTTP/2.0...", a method no HTTP/1 client sends) from an HTTP/1 request line.
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let seen = Buffer.alloc(0);
    const onData = (chunk) => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const h2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (h2 && n < H2_PREFACE.length) return; // could still be either: wait for more
      socket.off('data', onData);
      socket.pause();
      socket.unshift(seen);
      // http2 reads what is buffered on the next tick (node#35475); http1 reads it once flowing.
      if (h2) http2.emit('connection', socket);
      else {
        http1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  host = `127.0.0.1:${port}`;

  return {
    url: `http://${host}`,
    port,
    host,
    region,
    credentials,
    requests,
    queue(...replies) {
      replyQueue.push(...replies);
    },
    setDefault(reply) {
      defaultReply = reply ?? {};
    },
    reset() {
      replyQueue = [];
      requests.length = 0;
      defaultReply = initialDefault;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// SigV4, checked as AWS checks it

/**
 * Recomputes the request's SigV4 signature with @smithy/signature-v4 from the fake's own
 * credentials and compares. What AWS answers for each failure: no Authorization header, 403
 * MissingAuthenticationTokenException; an access key (or session token) it does not know, 403
 * UnrecognizedClientException; anything else that does not match (the secret, the host it was
 * signed for, the body, the date, the scope), 403 InvalidSignatureException.
 */
async function verifySignature(req, url, raw, { credentials, region, host }) {
  const authorization = header(req, 'authorization');
  if (!authorization) return { ok: false, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const parsed = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!parsed) return { ok: false, type: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.` };
  const [, accessKeyId, day, scopeRegion, service, signedHeaderList, signature] = parsed;
  const unrecognised = { ok: false, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  const mismatch = { ok: false, type: 'InvalidSignatureException', message: SIGNATURE_MISMATCH };
  if (accessKeyId !== credentials.accessKeyId) return unrecognised;
  const token = header(req, 'x-amz-security-token');
  if (token !== undefined && token !== credentials.sessionToken) return unrecognised;
  if (scopeRegion !== region || service !== 'bedrock') {
    return { ok: false, type: 'InvalidSignatureException', message: `Credential should be scoped to a valid region and service 'bedrock'.` };
  }
  const date = header(req, 'x-amz-date');
  const signingDate = date && /^\d{8}T\d{6}Z$/.test(date) ? new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`) : null;
  if (!signingDate || date.slice(0, 8) !== day) return mismatch;
  const signedNames = signedHeaderList.split(';');
  // Over HTTP/2 the AWS SDK signs :authority in place of host; AWS takes either.
  if (!signedNames.includes('host') && !signedNames.includes(':authority')) return mismatch;
  // The signer hashes the body itself unless x-amz-content-sha256 is given: check that one.
  const declaredHash = header(req, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== 'UNSIGNED-PAYLOAD' && declaredHash !== createHash('sha256').update(raw).digest('hex')) return mismatch;
  // A request signed for (or sent with the Host of) another address is refused: this is what
  // catches a proxy that forwards without re-signing.
  const receivedHost = header(req, 'host') ?? header(req, ':authority');
  if (receivedHost !== host) return mismatch;
  const headers = {};
  for (const name of signedNames) {
    const value = name === 'host' ? receivedHost : header(req, name);
    if (value === undefined) return mismatch;
    headers[name] = value;
  }
  const query = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  const signer = new SignatureV4({
    service: 'bedrock',
    region,
    credentials: { accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(token !== undefined && { sessionToken: token }) },
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: signedNames.includes('x-amz-content-sha256'),
  });
  const rawPath = (req.url ?? '/').split('?')[0];
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: '127.0.0.1', path: rawPath, query, headers, body: raw.length ? raw : undefined },
    { signingDate, signableHeaders: new Set(signedNames) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization ?? '')?.[1];
  return expected === signature ? { ok: true } : mismatch;
}

/** A request header (lower-case name); several values joined as Node joins them. */
function header(req, name) {
  const value = req.headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

// ---------------------------------------------------------------------------------------------
// Replies

function normaliseReply(reply) {
  const r = reply ?? {};
  return {
    ...r,
    usage: r.usage === null ? null : normaliseUsage(r.usage === undefined ? DEFAULT_USAGE : r.usage),
    headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    delayMs: r.delayMs ?? 0,
    status: r.status ?? 200,
    splitFrames: r.splitFrames ?? true,
  };
}

function normaliseUsage(u) {
  return { input: u.input ?? 0, output: u.output ?? 0, cached: u.cached ?? 0, cacheWrite: u.cacheWrite ?? 0 };
}

function textOf(reply) {
  return reply.chunks && reply.text === undefined ? reply.chunks.join('') : (reply.text ?? DEFAULT_TEXT);
}

function piecesOf(reply) {
  return reply.chunks ?? (textOf(reply).match(/\s*\S+|\s+/g) ?? []);
}

/** Anthropic usage: input_tokens leave out cache reads and writes, which are reported beside them. */
function anthropicUsageOf(u) {
  return {
    input_tokens: Math.max(0, u.input - u.cached - u.cacheWrite),
    cache_creation_input_tokens: u.cacheWrite,
    cache_read_input_tokens: u.cached,
    output_tokens: u.output,
  };
}

/** The x-amzn-bedrock-* token count headers InvokeModel answers with (input uncached, as Anthropic counts it). */
function countHeaders(reply) {
  const u = reply.usage;
  if (!u || reply.countHeaders === false) return {};
  return {
    'x-amzn-bedrock-input-token-count': String(Math.max(0, u.input - u.cached - u.cacheWrite)),
    'x-amzn-bedrock-output-token-count': String(u.output),
    ...(u.cached && { 'x-amzn-bedrock-cache-read-input-token-count': String(u.cached) }),
    ...(u.cacheWrite && { 'x-amzn-bedrock-cache-write-input-token-count': String(u.cacheWrite) }),
    'x-amzn-bedrock-invocation-latency': '312',
  };
}

const MISSING_VERSION = 'Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.';

/**
 * Bedrock takes the Anthropic API version in the body: "bedrock-2023-05-31", or the dated
 * version @anthropic-ai/bedrock-sdk moves there from its anthropic-version header.
 */
function hasAnthropicVersion(body) {
  return typeof body.anthropic_version === 'string' && /^(bedrock-)?\d{4}-\d{2}-\d{2}$/.test(body.anthropic_version);
}

function invoke(ctx) {
  const { res, reply, body } = ctx;
  if (!hasAnthropicVersion(body)) return sendAwsError(res, 400, 'ValidationException', MISSING_VERSION);
  const message = {
    id: `msg_bdrk_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content: [{ type: 'text', text: textOf(reply) }],
    stop_reason: reply.stopReason ?? 'end_turn',
    stop_sequence: null,
    ...(reply.usage && reply.bodyUsage !== false && { usage: anthropicUsageOf(reply.usage) }),
  };
  sendJson(res, 200, message, { ...countHeaders(reply), ...reply.headers });
}

function invokeStream(ctx) {
  const { res, reply, body } = ctx;
  if (!hasAnthropicVersion(body)) return sendAwsError(res, 400, 'ValidationException', MISSING_VERSION);
  const u = reply.usage;
  const wire = u ? anthropicUsageOf(u) : null;
  const events = [];
  events.push({
    type: 'message_start',
    message: {
      id: `msg_bdrk_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      type: 'message',
      role: 'assistant',
      model: ctx.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: wire ? { ...wire, output_tokens: Math.min(1, wire.output_tokens) } : { input_tokens: 0, output_tokens: 0 },
    },
  });
  events.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  for (const piece of piecesOf(reply)) events.push({ piece, event: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } } });
  events.push({ type: 'content_block_stop', index: 0 });
  const deltaUsage = !wire ? { output_tokens: 0 } : reply.anthropicDeltaUsage === 'output' ? { output_tokens: wire.output_tokens } : wire;
  events.push({ type: 'message_delta', delta: { stop_reason: reply.stopReason ?? 'end_turn', stop_sequence: null }, usage: deltaUsage });
  const stop = { type: 'message_stop' };
  if (u && reply.invocationMetrics !== false) {
    stop['amazon-bedrock-invocationMetrics'] = {
      inputTokenCount: wire.input_tokens,
      outputTokenCount: u.output,
      invocationLatency: 312,
      firstByteLatency: 120,
      ...(u.cached && { cacheReadInputTokenCount: u.cached }),
      ...(u.cacheWrite && { cacheWriteInputTokenCount: u.cacheWrite }),
    };
  }
  events.push(stop);
  const frames = events.map((e) => {
    const event = e.event ?? e;
    const bytes = Buffer.from(JSON.stringify(event)).toString('base64');
    return { piece: e.piece !== undefined, frame: eventFrame('chunk', { bytes, p: padding() }) };
  });
  return streamFrames(ctx, frames, { 'x-amzn-bedrock-content-type': 'application/json' });
}

function converseUsageOf(u) {
  return {
    inputTokens: Math.max(0, u.input - u.cached - u.cacheWrite),
    outputTokens: u.output,
    totalTokens: u.input + u.output,
    ...(u.cached || u.cacheWrite ? { cacheReadInputTokens: u.cached, cacheWriteInputTokens: u.cacheWrite } : {}),
  };
}

function converse(ctx) {
  const { res, reply } = ctx;
  if (!Array.isArray(ctx.body.messages)) {
    return sendAwsError(res, 400, 'ValidationException', 'The model returned the following errors: messages is required');
  }
  sendJson(
    res,
    200,
    {
      output: { message: { role: 'assistant', content: [{ text: textOf(reply) }] } },
      stopReason: reply.stopReason ?? 'end_turn',
      ...(reply.usage && { usage: converseUsageOf(reply.usage) }),
      metrics: { latencyMs: 312 },
    },
    reply.headers,
  );
}

function converseStream(ctx) {
  const { res, reply } = ctx;
  if (!Array.isArray(ctx.body.messages)) {
    return sendAwsError(res, 400, 'ValidationException', 'The model returned the following errors: messages is required');
  }
  const frames = [{ frame: eventFrame('messageStart', { p: padding(), role: 'assistant' }) }];
  for (const piece of piecesOf(reply)) {
    frames.push({ piece: true, frame: eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece }, p: padding() }) });
  }
  frames.push({ frame: eventFrame('contentBlockStop', { contentBlockIndex: 0, p: padding() }) });
  frames.push({ frame: eventFrame('messageStop', { p: padding(), stopReason: reply.stopReason ?? 'end_turn' }) });
  frames.push({ frame: eventFrame('metadata', { metrics: { latencyMs: 312 }, p: padding(), ...(reply.usage && { usage: converseUsageOf(reply.usage) }) }) });
  return streamFrames(ctx, frames, {});
}

/** AWS pads stream events with a random-length "p" field so their sizes do not leak the text. */
function padding() {
  return 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ'.slice(0, 4 + Math.floor(Math.random() * 20));
}

function eventFrame(eventType, payload) {
  return CODEC.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: new Uint8Array(Buffer.from(JSON.stringify(payload))),
  });
}

/** An exception frame, as AWS ends a stream that failed after its 200 (the type camel-cased). */
function exceptionFrame(type, message) {
  return CODEC.encode({
    headers: {
      ':exception-type': { type: 'string', value: type.charAt(0).toLowerCase() + type.slice(1) },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: new Uint8Array(Buffer.from(JSON.stringify({ message }))),
  });
}

/**
 * Writes the frames of an event stream: each in two writes, a moment apart (the first write of
 * every other frame is only 3 bytes, inside the length prelude). `cutAfter` pieces of text
 * destroys the connection; `streamError` pieces send an exception frame and end the body.
 */
async function streamFrames(ctx, frames, extraHeaders) {
  const { res, reply } = ctx;
  res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': randomUUID(),
    ...extraHeaders,
    ...reply.headers,
  });
  let pieces = 0;
  const errorAfter = reply.streamError === true ? 2 : reply.streamError;
  for (const [i, { frame, piece }] of frames.entries()) {
    if (piece) {
      if (reply.cutAfter !== undefined && pieces >= reply.cutAfter) {
        await pause();
        res.destroy();
        (res.stream ?? res.socket)?.destroy?.();
        return;
      }
      if (errorAfter !== undefined && pieces >= errorAfter) {
        const type = reply.errorType ?? 'ModelStreamErrorException';
        await write(res, exceptionFrame(type, reply.errorMessage ?? 'The model stream failed.'));
        res.end();
        return;
      }
      pieces++;
    }
    if (reply.splitFrames) {
      const at = i % 2 === 0 ? 3 : Math.max(1, Math.floor(frame.length / 2));
      await write(res, frame.subarray(0, at));
      await pause();
      await write(res, frame.subarray(at));
    } else await write(res, frame);
  }
  res.end();
}

function pause() {
  return new Promise((resolve) => setTimeout(resolve, 1));
}

function write(res, bytes) {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve();
    if (res.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) resolve();
    else res.once('drain', resolve);
  });
}

/** AWS's JSON error: the type in x-amzn-errortype (with its namespace suffix), the message in the body. */
function sendAwsError(res, status, type, message, headers = {}) {
  sendJson(res, status, message === null ? {} : { message }, {
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    ...headers,
  });
}

function sendJson(res, status, value, headers = {}) {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': randomUUID(),
    date: new Date().toUTCString(),
    ...headers,
  });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}
