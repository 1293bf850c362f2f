import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { needsSeparator } from '../src/cli-proxy.js';
import { decodableAcceptEncoding, keyOf, relayHeaders, responseHeaders } from '../src/proxy/headers.js';
import { bodyOutcome, classify, DONE, ERROR_KEY, IS_DONE, parseData, requestHead, sentText, streamMeter, USAGE_KEY, USAGE_OBJECT, type BodyEnd } from '../src/wire/index.js';
import { errorReply } from '../src/proxy/provider-errors.js';
import { topLevelMembers, usageMembers, UsageStripper, withIncludeUsage } from '../src/proxy/rewrite.js';
import { limitsOf } from '../src/proxy/limits.js';
import { clientEnv, dialableHost, loopingUpstream, normalisedPath, proxyEnvOf, routeOf as routeWithOrigin, upstreamsOf, type Upstreams } from '../src/proxy/routes.js';
import { startProxy, type MeteringProxy } from '../src/proxy/server.js';
import { LineSplitter, SseReader } from '../src/wire/sse.js';
import { loadPriceTable } from '../src/pricing/table.js';
import type { CallRecord } from '../src/record.js';
import { recordCall, type EndedCall } from '../src/proxy/calls.js';

// ---------------------------------------------------------------------------------------------
// Fixtures: one OpenAI chat stream as the API sends it with and without include_usage.

const BASE = { id: 'chatcmpl-AbC', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_44709d6fcb' };
const DELTAS = [
  { role: 'assistant', content: '', refusal: null },
  { content: 'A "usage":null inside a string, ' },
  { content: 'ünïcødé 🙂 and \\"usage\\" escaped' },
  {},
];

/** The stream's bytes; `usage` as OpenAI adds it: null on every chunk, then a usage chunk. */
function chatStream(withUsage: boolean, eol = '\n'): Buffer {
  const events = DELTAS.map((delta, i) => {
    const chunk = { ...BASE, choices: [{ index: 0, delta, logprobs: null, finish_reason: i === DELTAS.length - 1 ? 'stop' : null }], ...(withUsage ? { usage: null } : {}) };
    return `data: ${JSON.stringify(chunk)}${eol}${eol}`;
  });
  if (withUsage) events.push(`data: ${JSON.stringify({ ...BASE, choices: [], usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 } })}${eol}${eol}`);
  events.push(`data: [DONE]${eol}${eol}`);
  return Buffer.from(events.join(''));
}

/** Runs bytes through a stripper in the given pieces; returns what it forwards and the meter's view. */
function strip(pieces: Buffer[]): { out: Buffer; usage: unknown } {
  const meter = streamMeter('chat');
  const stripper = new UsageStripper(meter);
  const out: Buffer[] = [];
  for (const piece of pieces) out.push(...stripper.push(piece));
  const rest = stripper.rest();
  if (rest) out.push(rest);
  return { out: Buffer.concat(out), usage: meter.outcome('complete').usage };
}

describe('SSE, byte by byte', () => {
  it('splits lines across any chunk boundary, keeping every byte', () => {
    const bytes = Buffer.from('data: one\n\nevent: x\ndata: tw🙂o\n\ndata: tail');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const lines: string[] = [];
      const s = new LineSplitter();
      const onLine = (buf: Buffer, start: number, end: number) => lines.push(buf.toString('utf8', start, end));
      s.scan(bytes.subarray(0, cut), onLine);
      s.scan(bytes.subarray(cut), onLine);
      expect(lines).toEqual(['data: one\n', '\n', 'event: x\n', 'data: tw🙂o\n', '\n']);
      expect(s.rest()?.toString()).toBe('data: tail');
    }
  });

  it('assembles events after the spec: joined data lines, comments and unknown fields skipped', () => {
    const reader = new SseReader();
    const events: unknown[] = [];
    const s = new LineSplitter();
    s.scan(Buffer.from(': ping\nevent: message_start\ndata: {"a":\ndata:1}\nid: 7\n\ndata:no-space\r\n\r\n\n'), (buf, start, end) => {
      const e = reader.lineAt(buf, start, end);
      if (e) events.push({ event: e.event, data: e.data.toString() });
    });
    expect(events).toEqual([
      { event: 'message_start', data: '{"a":\n1}' },
      { event: '', data: 'no-space' },
    ]);
  });

  it('does not decode the data of events nobody wants', () => {
    const reader = new SseReader((e) => e !== 'response.output_text.done');
    const lines = ['event: response.output_text.done\n', 'data: {"huge":true}\n', '\n', 'event: response.completed\n', 'data: {"ok":1}\n', '\n'];
    const events = lines.map((l) => reader.lineAt(Buffer.from(l), 0, Buffer.byteLength(l))).filter((e) => e !== null);
    expect(events.map((e) => ({ event: e.event, data: e.data.toString() }))).toEqual([{ event: 'response.completed', data: '{"ok":1}' }]);
  });

  it('names every event right when names repeat, change, come back, or are empty', () => {
    // Names are decoded once and then known by their bytes: each event must still get its own.
    const reader = new SseReader((e) => e !== 'skip' && e !== '');
    const names = ['', 'delta', 'delta', 'skip', 'delta', 'deltb', 'skip', '', 'delta', '', 'skip', 'skip', 'stop'];
    const got: string[] = [];
    for (const [i, name] of names.entries()) {
      for (const l of [`event: ${name}\n`, `data: ${i}\n`, '\n']) {
        const e = reader.lineAt(Buffer.from(l), 0, Buffer.byteLength(l));
        if (e) got.push(`${e.event}=${e.data.toString()}`);
      }
    }
    expect(got).toEqual(names.flatMap((n, i) => (n === 'skip' || n === '' ? [] : [`${n}=${i}`])));
  });

  it('names every event right past the names it keeps decoded, and in any script', () => {
    // More distinct names than are kept (64), of the same length, in UTF-8 of several bytes, and too long to keep;
    // runs of one name, and names that differ only in their first or last byte.
    const names: string[] = [...Array.from({ length: 100 }, (_, i) => `ev-${String(i).padStart(3, '0')}`), 'événement', 'évènement', '事件', 'ev-007', 'x'.repeat(100_000), `${'x'.repeat(99_999)}y`];
    names.unshift('run', 'run', 'run', 'nur', 'rum', 'run', 'a_delta', 'b_delta', 'a_delta'); // kept: they come first
    const reader = new SseReader((e) => e !== 'ev-050');
    const got: string[] = [];
    for (const round of [0, 1]) {
      for (const [i, name] of names.entries()) {
        for (const l of [`event: ${name}\n`, `data: ${round}.${i}\n`, '\n']) {
          const e = reader.lineAt(Buffer.from(l), 0, Buffer.byteLength(l));
          if (e) got.push(`${e.event}=${e.data.toString()}`);
        }
      }
    }
    const want = [0, 1].flatMap((round) => names.flatMap((n, i) => (n === 'ev-050' ? [] : [`${n}=${round}.${i}`])));
    expect(got).toEqual(want);
  });
});

describe('asking for stream usage, and taking it back out', () => {
  it('inserts stream_options as the first member and keeps every other byte', () => {
    const raw = Buffer.from('  {"model":"gpt-4o-mini", "messages":[{"role":"user","content":"hi"}],"stream":true}');
    const body = JSON.parse(raw.toString());
    expect(withIncludeUsage(raw, body)?.toString()).toBe('  {"stream_options":{"include_usage":true},"model":"gpt-4o-mini", "messages":[{"role":"user","content":"hi"}],"stream":true}');
  });

  it('merges into stream_options the client sent, and leaves alone what needs nothing', () => {
    const withOptions = { model: 'm', stream: true, stream_options: { include_obfuscation: false } };
    expect(JSON.parse(withIncludeUsage(Buffer.from(JSON.stringify(withOptions)), withOptions)?.toString() ?? '')).toEqual({
      ...withOptions,
      stream_options: { include_obfuscation: false, include_usage: true },
    });
    const asked = { model: 'm', stream: true, stream_options: { include_usage: true } };
    expect(withIncludeUsage(Buffer.from(JSON.stringify(asked)), asked)).toBeNull();
    const notStream = { model: 'm' };
    expect(withIncludeUsage(Buffer.from(JSON.stringify(notStream)), notStream)).toBeNull();
  });

  it('cuts a top-level member out wherever it is, and nothing nested or inside strings', () => {
    const cut = (json: string) => {
      const span = topLevelMembers(Buffer.from(json), 0, Buffer.byteLength(json), 'usage').span;
      return span && json.slice(0, span[0]) + json.slice(span[1]);
    };
    expect(cut('{"a":1,"usage":null}')).toBe('{"a":1}');
    expect(cut('{"usage":null,"a":1}')).toBe('{"a":1}');
    expect(cut('{"a":1,"usage":null,"b":2}')).toBe('{"a":1,"b":2}');
    expect(cut('{ "a": 1 , "usage" : null }')).toBe('{ "a": 1 }');
    expect(cut('{"a":"x\\"usage\\":null","usage":{"n":[1,{"usage":2}]},"b":"}"}')).toBe('{"a":"x\\"usage\\":null","b":"}"}');
    expect(cut('{"usage":null}')).toBe('{}');
    expect(cut('{"a":{"usage":null},"b":"usage"}')).toBeNull();
  });

  it('finds the usage member natively exactly where the whole scan does, on every spelling around it', () => {
    // usageMembers takes a fast path for the chunks include_usage adds `"usage":null` to; each
    // of these must agree with topLevelMembers, the byte-by-byte scan, to the byte.
    const lines = [
      '{"a":1,"usage":null}',
      '{"a":1, "usage" : null }',
      '{"a":1,"usage":null}  ',
      '{"usage":null}',
      '{ "usage":null }',
      '{"usage":null,"a":1}',
      '{"a":1,"usage":null,"b":2}',
      '{"a":{"usage":null}}',
      '{"a":{"b":1,"usage":null}}',
      '{"a":"x\\"usage":null}',
      '{"a":"x\\",\\"usage\\":null}',
      '{"a":"x\\\\","usage":null}',
      '{"a":"\\"usage\\":null","usage":null}',
      '{"a":"say \\"usage","b":null}',
      '{"a":1,"usage":nullx}',
      '{"a":1,"usage":{"prompt_tokens":1}}',
      '{"error":{"message":"x"},"usage":null}',
      '{ "error" : {"message":"x"}, "usage":null}',
      '{"a":"error","usage":null}',
      '{"choices":[{"delta":{"content":"usage"}}],"usage":null}',
      '{"choices":[{"delta":{"content":"hi"}}]}',
      '{"a":[1,"usage"],"usage":null}',
      '{"a":1,"usage":null}}',
      '{"a":1 "usage":null}',
      '{"a":1,"usage" null}',
      '{"a":1,"usage"xnull}',
      '{"a":1,"usage":nulx}',
      '{"a":1,"usage":null]',
    ];
    const same = (line: string) => {
      const data = Buffer.from(line);
      const fast = usageMembers(data);
      const slow = topLevelMembers(data, 0, data.length, 'usage');
      expect({ span: fast.span, object: fast.object }, line).toEqual({ span: slow.span, object: slow.object });
      // The whole scan's error is any "error" string at the top level, key or value; the short
      // way's, an error key first (as error events come): never more than the whole scan's.
      if (fast.error) expect(slow.error, line).toBe(true);
      return fast;
    };
    for (const line of lines) same(line);
    expect(same('{"error":{"message":"x"},"usage":null}').error).toBe(true);
    expect(same(' { "error" : {"message":"x"}, "usage":null}').error).toBe(true);
    // What the short way does not see (documented): an error key after the first member.
    expect(same('{"a":1,"error":{"message":"x"},"usage":null}').error).toBe(false);
    // And on real chunks: OpenAI's, with include_usage, every one of them.
    for (const event of chatStream(true).toString('utf8').split('\n\n')) same(event.replace(/^data: /, ''));
  });

  it('gives back exactly the stream without usage, however the bytes are split', () => {
    const asked = chatStream(true);
    const expected = chatStream(false);
    expect(asked.equals(expected)).toBe(false);
    expect(strip([asked]).out.equals(expected)).toBe(true);
    for (let cut = 0; cut <= asked.length; cut++) {
      const { out, usage } = strip([asked.subarray(0, cut), asked.subarray(cut)]);
      expect(out.equals(expected), `split at byte ${cut}`).toBe(true);
      expect(usage).toMatchObject({ input_tokens: 9, output_tokens: 12 });
    }
    const bytewise = strip([...asked].map((b) => Buffer.from([b])));
    expect(bytewise.out.equals(expected)).toBe(true);
  });

  it('handles CRLF line ends and a stream that never asked for usage', () => {
    expect(strip([chatStream(true, '\r\n')]).out.equals(chatStream(false, '\r\n'))).toBe(true);
    const plain = chatStream(false);
    expect(strip([plain]).out.equals(plain)).toBe(true);
  });

  it('removes usage riding on a content chunk (vLLM-style) without dropping the content', () => {
    const chunk = { ...BASE, choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } };
    const { choices } = chunk;
    const { out, usage } = strip([Buffer.from(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`)]);
    expect(out.toString()).toBe(`data: ${JSON.stringify({ ...BASE, choices })}\n\ndata: [DONE]\n\n`);
    expect(usage).toMatchObject({ input_tokens: 3, output_tokens: 1 });
  });
});

const ORIGIN = 'http://127.0.0.1:4747';
const routeOf = (method: string, target: string, headers: http.IncomingHttpHeaders, upstreams: Upstreams) => routeWithOrigin(method, target, headers, upstreams, ORIGIN);
/** The refusal's reason, or null for a route. */
const refusalOf = (r: ReturnType<typeof routeOf>) => ('refusal' in r ? r.refusal : null);
const pathOf = (r: ReturnType<typeof routeOf>) => ('refusal' in r ? r.refusal : r.upstreamPath);

describe('routing', () => {
  const upstreams: Upstreams = { openai: new URL('https://api.openai.com/v1'), anthropic: new URL('https://api.anthropic.com'), bedrock: null };

  it('routes Bedrock by its SigV4 signature or its /model/ path: the four operations metered, the rest passed through', () => {
    const r = (method: string, path: string, headers = {}) => routeOf(method, path, headers, upstreams);
    const signed = { authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00' };
    expect(r('POST', '/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke', signed)).toMatchObject({
      provider: 'bedrock',
      api: 'messages',
      upstreamPath: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke',
      bedrock: { operation: 'invoke', modelId: 'anthropic.claude-3-haiku-20240307-v1:0', stream: false },
    });
    expect(r('POST', '/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke-with-response-stream')).toMatchObject({ provider: 'bedrock', api: 'messages', bedrock: { stream: true } });
    expect(r('POST', '/model/amazon.nova-lite-v1%3A0/converse')).toMatchObject({ api: 'converse', bedrock: { operation: 'converse', stream: false } });
    // An inference-profile ARN keeps its encoded '/': it is the model id's, and it is what was signed.
    const arn = '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.amazon.nova-lite-v1%3A0/converse-stream';
    expect(r('POST', arn)).toMatchObject({ api: 'converse', upstreamPath: arn, bedrock: { modelId: 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0', stream: true } });
    expect(r('POST', '/model/m/count-tokens', signed)).toMatchObject({ provider: 'bedrock', api: null });
    expect(r('GET', '/async-invoke?maxResults=5', signed)).toMatchObject({ provider: 'bedrock', api: null, upstreamPath: '/async-invoke?maxResults=5' });
    expect(r('GET', '/model/m/invoke')).toMatchObject({ provider: 'bedrock', api: null });
    for (const path of ['/model/../v1/chat/completions', '/model/%2e%2e/x', '/model//x/invoke', '/model/x\\y/invoke']) {
      expect(r('POST', path), path).toMatchObject({ refusal: 'bad-path', provider: 'bedrock' });
    }
  });

  it('maps each metered path to its API, and the rest to pass-through', () => {
    const r = (method: string, path: string, headers = {}) => routeOf(method, path, headers, upstreams);
    expect(r('POST', '/v1/chat/completions')).toEqual({ provider: 'openai', api: 'chat', upstreamPath: '/v1/chat/completions' });
    expect(r('POST', '/v1/completions')).toMatchObject({ api: 'completions' });
    expect(r('POST', '/v1/responses')).toMatchObject({ api: 'responses' });
    expect(r('POST', '/v1/embeddings')).toMatchObject({ api: 'embeddings' });
    expect(r('POST', '/v1/messages?beta=true')).toEqual({ provider: 'anthropic', api: 'messages', upstreamPath: '/v1/messages?beta=true' });
    expect(r('POST', '/v1/messages/count_tokens')).toMatchObject({ provider: 'anthropic', api: null });
    expect(r('GET', '/v1/models')).toMatchObject({ provider: 'openai', api: null });
    expect(r('GET', '/v1/models', { 'anthropic-version': '2023-06-01' })).toMatchObject({ provider: 'anthropic', api: null, upstreamPath: '/v1/models' });
    expect(r('GET', '/v1/chat/completions')).toMatchObject({ api: null });
  });

  it('refuses anything that is not a provider path: never an open relay', () => {
    for (const target of ['http://example.com/v1/models', '/', '/v2/chat/completions', '/v1x', '/chat/completions', '//example.com/v1/models']) {
      expect({ target, refusal: refusalOf(routeOf('GET', target, {}, upstreams)) }).toEqual({ target, refusal: target === '//example.com/v1/models' ? 'no-route' : 'no-route' });
    }
    const r = routeOf('POST', '/v2/chat/completions', { 'anthropic-version': '2023-06-01' }, upstreams);
    expect(r).toEqual({ refusal: 'no-route', provider: 'anthropic', message: `llm-usage proxy: no route for POST /v2/chat/completions: OpenAI clients use ${ORIGIN}/v1 as their base URL, Anthropic clients ${ORIGIN}` });
  });

  it('every spelling of an API path is metered as that API; none leaves /v1 or the base path', () => {
    for (const target of ['/v1//chat/completions', '/v1/./chat/completions', '/v1/x/../chat/completions', '//v1/chat/completions', '/v1/chat/completions/', '/v1/%2e/chat/completions', '/v1/x/%2E%2e/chat/completions']) {
      expect({ target, route: routeOf('POST', target, {}, upstreams) }).toEqual({ target, route: { provider: 'openai', api: 'chat', upstreamPath: '/v1/chat/completions' } });
    }
    expect(routeOf('POST', '/v1/x/../messages', { 'anthropic-version': '2023-06-01' }, upstreams)).toEqual({ provider: 'anthropic', api: 'messages', upstreamPath: '/v1/messages' });
    for (const target of ['/v1/..', '/v1/../../admin', '/v1/../v1/chat/completions', '/v1/chat/%2e%2e/%2e%2e/%2e%2e/admin', '/v1/chat%2fcompletions', '/v1/chat%5Ccompletions', '/v1/chat\\completions']) {
      expect({ target, refusal: refusalOf(routeOf('POST', target, {}, upstreams)) }).toEqual({ target, refusal: 'bad-path' });
    }
    const based = { ...upstreams, openai: new URL('https://gw.example/team/v1') };
    expect(pathOf(routeOf('POST', '/v1/../../admin', {}, based))).toBe('bad-path');
    expect(pathOf(routeOf('GET', '/v1/files/./f1/content?x=1', {}, based))).toBe('/team/v1/files/f1/content?x=1');
    expect(normalisedPath('/a//b/./c/../d', 0)).toBe('/a/b/d');
    expect(normalisedPath('/v1/..', 1)).toBeNull();
    // Normal paths are taken as they are; every other spelling is resolved.
    const cases: [string, string | null][] = [
      ['/v1/chat/completions', '/v1/chat/completions'],
      ['/v1/chat/completions/', '/v1/chat/completions'],
      ['/', '/'],
      ['/v1/.well-known/x', '/v1/.well-known/x'],
      ['/v1/a%20b', '/v1/a%20b'],
      ['/v1/%2e%2e', null],
      ['/v1/%2E', '/v1'],
      ['/v1/x/..%2fy', null],
      ['/v1/x\\y', null],
      ['/v1//x', '/v1/x'],
    ];
    for (const [path, expected] of cases) expect({ path, got: normalisedPath(path, 1) }).toEqual({ path, got: expected });
  });

  it('Anthropic base URLs with and without /v1 reach /v1/messages once; the Vercel AI SDK\'s /messages too', () => {
    expect(routeOf('POST', '/messages', { 'anthropic-version': '2023-06-01' }, upstreams)).toEqual({ provider: 'anthropic', api: 'messages', upstreamPath: '/v1/messages' });
    expect(routeOf('POST', '/messages', {}, upstreams)).toEqual({ provider: 'anthropic', api: 'messages', upstreamPath: '/v1/messages' });
    expect(routeOf('POST', '/v1/messages', {}, upstreams)).toEqual({ provider: 'anthropic', api: 'messages', upstreamPath: '/v1/messages' });
    const withV1 = { ...upstreams, anthropic: new URL('https://api.anthropic.com/v1/') };
    expect(pathOf(routeOf('POST', '/v1/messages', {}, withV1))).toBe('/v1/messages');
    expect(pathOf(routeOf('POST', '/messages', {}, withV1))).toBe('/v1/messages');
    const gateway = { ...upstreams, anthropic: new URL('https://gw.example/claude/v1') };
    expect(pathOf(routeOf('POST', '/v1/messages?beta=true', {}, gateway))).toBe('/claude/v1/messages?beta=true');
  });

  it('never sends an Azure OpenAI request (its api-key, its /deployments/ path) to the OpenAI upstream', () => {
    expect(refusalOf(routeOf('POST', '/v1/deployments/gpt4/chat/completions?api-version=2024-10-21', {}, upstreams))).toBe('azure');
    expect(refusalOf(routeOf('POST', '/openai/deployments/gpt4/chat/completions?api-version=2024-10-21', {}, upstreams))).toBe('azure');
    expect(refusalOf(routeOf('POST', '/v1/chat/completions', { 'api-key': 'azure-secret-key-123' }, upstreams))).toBe('azure');
    const r = routeOf('POST', '/v1/chat/completions', { 'api-key': 'azure-secret-key-123' }, upstreams);
    expect(JSON.stringify(r)).not.toContain('azure-secret-key-123');
  });

  it('takes upstreams from flags, then the user\'s variables, then the public endpoints', () => {
    const google = new URL('https://generativelanguage.googleapis.com');
    expect(upstreamsOf({}, {})).toEqual({ openai: new URL('https://api.openai.com/v1'), anthropic: new URL('https://api.anthropic.com'), bedrock: null, google });
    const env = { OPENAI_BASE_URL: 'http://localhost:11434/v1', OPENAI_API_BASE: 'http://old/v1', ANTHROPIC_BASE_URL: 'http://a.example' };
    expect(upstreamsOf({}, env).openai.href).toBe('http://localhost:11434/v1');
    expect(upstreamsOf({}, { OPENAI_API_BASE: 'http://old/v1' }).openai.href).toBe('http://old/v1');
    expect(upstreamsOf({ openai: 'http://flag/v1', anthropic: 'http://b' }, env)).toEqual({ openai: new URL('http://flag/v1'), anthropic: new URL('http://b'), bedrock: null, google });
    // Bedrock: the service's own variable before AWS_ENDPOINT_URL, as the AWS SDKs read them; null: the region's public endpoint.
    const aws = { AWS_ENDPOINT_URL: 'http://all.example', AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://bedrock.example:8080' };
    expect(upstreamsOf({}, aws).bedrock?.href).toBe('http://bedrock.example:8080/');
    expect(upstreamsOf({}, { AWS_ENDPOINT_URL: 'http://all.example' }).bedrock?.href).toBe('http://all.example/');
    expect(upstreamsOf({ bedrock: 'http://flag.example' }, aws).bedrock?.href).toBe('http://flag.example/');
    expect(() => upstreamsOf({}, { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'bedrock' })).toThrow('AWS_ENDPOINT_URL_BEDROCK_RUNTIME: "bedrock" is not a URL (expected e.g. https://bedrock-runtime.us-east-1.amazonaws.com)');
    expect(() => upstreamsOf({}, { OPENAI_BASE_URL: 'not a url' })).toThrow(/OPENAI_BASE_URL: "not a url" is not a URL/);
    expect(() => upstreamsOf({ anthropic: 'ftp://x' }, {})).toThrow('--anthropic-upstream: "ftp://x" is not an http:// or https:// URL (expected e.g. https://api.anthropic.com)');
  });

  it('points a wrapped program\'s clients at the proxy, keys untouched', () => {
    const env = clientEnv({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://mine/v1', HTTPS_PROXY: 'http://corp:3128', NO_PROXY: 'internal' }, 'http://127.0.0.1:5');
    expect(env).toMatchObject({
      OPENAI_API_KEY: 'k',
      OPENAI_BASE_URL: 'http://127.0.0.1:5/v1',
      OPENAI_API_BASE: 'http://127.0.0.1:5/v1',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:5',
      ANTHROPIC_API_URL: 'http://127.0.0.1:5',
      NO_PROXY: 'internal,127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    });
    expect(clientEnv({}, 'http://127.0.0.1:5').NO_PROXY).toBeUndefined();
  });

  it('reads HTTP(S)_PROXY and NO_PROXY for undici, either case; a proxy it cannot use is a UsageError without its credentials', () => {
    expect(proxyEnvOf({})).toEqual({ httpProxy: undefined, httpsProxy: undefined, noProxy: undefined });
    expect(proxyEnvOf({ HTTPS_PROXY: 'http://u:p%40ss@proxy.corp:3128', http_proxy: 'proxy.corp:3128', no_proxy: 'internal' })).toEqual({
      httpsProxy: 'http://u:p%40ss@proxy.corp:3128/',
      httpProxy: 'http://proxy.corp:3128/',
      noProxy: 'internal',
    });
    expect(proxyEnvOf({ HTTPS_PROXY: 'https://proxy.corp:8443' }).httpsProxy).toBe('https://proxy.corp:8443/');
    expect(() => proxyEnvOf({ HTTPS_PROXY: 'socks5://u:secret@proxy.corp' })).toThrow(/^HTTPS_PROXY: socks5:\/\/ proxies are not supported, only http:\/\/ and https:\/\/ \(or unset it for llm-usage\)$/);
    expect(() => proxyEnvOf({ HTTP_PROXY: 'http://u:secret@[nope' })).toThrow(/^HTTP_PROXY is not a URL/);
    expect(() => proxyEnvOf({ HTTP_PROXY: 'http://u:secret@[nope' })).not.toThrow(/secret/);
  });

  it('notices an upstream that is the proxy itself, by any of its names', async () => {
    const at = (url: string) => upstreamsOf({ openai: url }, {});
    expect(await loopingUpstream(at('http://localhost:4747/v1'), '127.0.0.1', 4747)).toBe('openai');
    expect(await loopingUpstream(at('http://[::ffff:127.0.0.1]:4747/v1'), '127.0.0.1', 4747)).toBe('openai');
    expect(await loopingUpstream(at('http://127.0.0.2:4747/v1'), '0.0.0.0', 4747)).toBe('openai');
    expect(await loopingUpstream(at('http://[::1]:4747/v1'), '::', 4747)).toBe('openai');
    expect(await loopingUpstream(at('http://127.0.0.2:4747/v1'), '127.0.0.1', 4747)).toBeNull();
    expect(await loopingUpstream(at('http://localhost:4747/v1'), '127.0.0.1', 4748)).toBeNull();
    expect(await loopingUpstream(upstreamsOf({ anthropic: 'http://127.0.0.1:80' }, {}), '0.0.0.0', 80)).toBe('anthropic');
  });

  it('reads each limit from its variable, with a default; a value that is not one is a UsageError naming it', () => {
    expect(limitsOf({})).toEqual({ headersTimeoutMs: 30_000, requestTimeoutMs: 600_000, keepAliveTimeoutMs: 65_000, maxBodyBytes: 64 * 1024 * 1024, upstreamHeadersTimeoutMs: 900_000, upstreamBodyTimeoutMs: 600_000 });
    expect(limitsOf({ LLM_USAGE_PROXY_HEADERS_TIMEOUT: '0.5', LLM_USAGE_PROXY_MAX_BODY: '2MiB' })).toMatchObject({ headersTimeoutMs: 500, maxBodyBytes: 2 * 1024 * 1024 });
    expect(limitsOf({ LLM_USAGE_PROXY_MAX_BODY: '1000' }).maxBodyBytes).toBe(1000);
    expect(limitsOf({ LLM_USAGE_PROXY_MAX_BODY: '3 MB' }).maxBodyBytes).toBe(3_000_000);
    expect(limitsOf({ LLM_USAGE_PROXY_UPSTREAM_BODY_TIMEOUT: ' ' }).upstreamBodyTimeoutMs).toBe(600_000);
    for (const [name, value] of [
      ['LLM_USAGE_PROXY_HEADERS_TIMEOUT', '0'],
      ['LLM_USAGE_PROXY_HEADERS_TIMEOUT', '-1'],
      ['LLM_USAGE_PROXY_HEADERS_TIMEOUT', '30s'],
      ['LLM_USAGE_PROXY_KEEPALIVE_TIMEOUT', 'forever'],
      ['LLM_USAGE_PROXY_MAX_BODY', '1e9'],
      ['LLM_USAGE_PROXY_MAX_BODY', '5 TB'],
      ['LLM_USAGE_PROXY_MAX_BODY', '9GiB'],
      ['LLM_USAGE_PROXY_UPSTREAM_HEADERS_TIMEOUT', '99999999'],
    ] as const) {
      expect(() => limitsOf({ [name]: value })).toThrow(new RegExp(`^${name}="${value.trim()}": expected `));
    }
  });

  it('prints base URLs a client can dial, whatever the listening address', () => {
    expect(dialableHost('0.0.0.0')).toBe('127.0.0.1');
    expect(dialableHost('::')).toBe('[::1]');
    expect(dialableHost('::1')).toBe('[::1]');
    expect(dialableHost('192.0.2.7')).toBe('192.0.2.7');
  });

  it('asks for -- when the command has options that could be taken for exec\'s', () => {
    expect(needsSeparator(['python', 'agent.py'])).toBe(false);
    expect(needsSeparator(['--json', '--', 'python', '-m', 'x'])).toBe(false);
    expect(needsSeparator(['--report', 'r.json', 'python', 'app.py'])).toBe(false);
    expect(needsSeparator(['python', 'app.py', '--json'])).toBe(true);
    expect(needsSeparator(['--max-cost', '1', 'node', '-e', '1'])).toBe(true);
  });
});

describe('headers', () => {
  it('relays end-to-end headers untouched, auth included, and drops hop-by-hop ones', () => {
    const raw = ['Authorization', 'Bearer sk-x', 'Connection', 'keep-alive, X-Private', 'X-Private', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'x-api-key', 'k', 'Set-Cookie', 'a', 'Set-Cookie', 'b'];
    expect(relayHeaders(raw, [], [['host', 'h']])).toEqual(['Authorization', 'Bearer sk-x', 'x-api-key', 'k', 'Set-Cookie', 'a', 'Set-Cookie', 'b', 'host', 'h']);
  });

  it("relays a response's end-to-end headers as undici parsed them, repeated ones each, without hop-by-hop ones or those named in Connection", () => {
    const parsed = { 'content-type': 'text/event-stream', connection: ['keep-alive, x-private', 'x-other'], 'x-private': '1', 'x-other': '2', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'set-cookie': ['a', 'b'], 'content-length': '9', 'x-request-id': 'req_1' };
    expect(responseHeaders(parsed, [])).toEqual(['content-type', 'text/event-stream', 'set-cookie', 'a', 'set-cookie', 'b', 'content-length', '9', 'x-request-id', 'req_1']);
    expect(responseHeaders(parsed, ['content-length'])).toEqual(['content-type', 'text/event-stream', 'set-cookie', 'a', 'set-cookie', 'b', 'x-request-id', 'req_1']);
    expect(responseHeaders({ 'content-type': 'application/json', connection: 'close' }, [])).toEqual(['content-type', 'application/json']);
  });

  it('asks upstream only for codings the proxy can read', () => {
    expect(decodableAcceptEncoding('gzip, deflate, br, zstd')).toBe('gzip, deflate, br');
    expect(decodableAcceptEncoding('zstd')).toBe('identity');
    expect(decodableAcceptEncoding('br;q=1.0, *;q=0.1')).toBe('br;q=1.0, gzip;q=0.1');
    expect(decodableAcceptEncoding(undefined)).toBeUndefined();
  });

  it('finds the key a request carries, for redaction', () => {
    expect(keyOf({ authorization: 'Bearer sk-abcdefgh123' })).toBe('sk-abcdefgh123');
    expect(keyOf({ 'x-api-key': 'sk-ant-abcdefgh' })).toBe('sk-ant-abcdefgh');
    expect(keyOf({ 'api-key': 'azure-key-123' })).toBe('azure-key-123');
    // AWS: the session token travels (the secret key never does), and the signature is no key.
    expect(keyOf({ authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=ab', 'x-amz-security-token': 'IQoJb3JpZ2luX2VjE' })).toBe('IQoJb3JpZ2luX2VjE');
    expect(keyOf({ authorization: 'Bearer x' })).toBeUndefined();
  });

  it('answers in each provider\'s error format, naming llm-usage', () => {
    const openai = errorReply('openai', 'budget', 'llm-usage: budget exceeded');
    expect(openai.status).toBe(429);
    expect(openai.headers['x-should-retry']).toBe('false');
    expect(JSON.parse(openai.body)).toEqual({ error: { message: 'llm-usage: budget exceeded', type: 'insufficient_quota', param: null, code: 'llm_usage_budget_exceeded' } });
    const anthropic = errorReply('anthropic', 'unreachable', 'llm-usage proxy: cannot reach');
    expect(anthropic.status).toBe(502);
    expect(JSON.parse(anthropic.body)).toEqual({ type: 'error', error: { type: 'api_error', message: 'llm-usage proxy: cannot reach' } });
    // AWS's REST-JSON errors: the type in x-amzn-errortype, {"message"} in the body; a budget
    // refusal is Bedrock's non-retried quota error (the AWS SDKs retry every 429).
    const aws = errorReply('bedrock', 'budget', 'llm-usage: budget exceeded');
    expect([aws.status, aws.headers['x-amzn-errortype'], JSON.parse(aws.body)]).toEqual([400, 'ServiceQuotaExceededException', { message: 'llm-usage: budget exceeded' }]);
    const signature = errorReply('bedrock', 'signature', 'llm-usage proxy: no', 'UnrecognizedClientException');
    expect([signature.status, signature.headers['x-amzn-errortype']]).toEqual([403, 'UnrecognizedClientException']);
    expect(errorReply('bedrock', 'unreachable', 'x').status).toBe(502);
  });
});

describe('meters', () => {
  const feed = (api: Parameters<typeof streamMeter>[0], events: unknown[]) => {
    const m = streamMeter(api);
    for (const e of events) m.data(e);
    return m;
  };

  it('Anthropic: message_delta usage replaces message_start\'s, never adds to it', () => {
    const start = { type: 'message_start', message: { model: 'claude-3-5-haiku-20241022', usage: { input_tokens: 20, cache_read_input_tokens: 10, cache_creation_input_tokens: 0, output_tokens: 1 } } };
    const delta = { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 20, cache_read_input_tokens: 10, output_tokens: 5 } };
    const m = feed('messages', [start, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }, delta, { type: 'message_stop' }]);
    const o = m.outcome('complete');
    expect(o.failure).toBeUndefined();
    expect(o.model).toBe('claude-3-5-haiku-20241022');
    expect(o.usage).toMatchObject({ input_tokens: 30, output_tokens: 5, total_tokens: 35, input_token_details: { cache_read: 10 } });
  });

  it('Anthropic cut before message_delta: input reported, output left to estimate', () => {
    const m = feed('messages', [{ type: 'message_start', message: { usage: { input_tokens: 20, output_tokens: 1 } } }, { type: 'content_block_delta', delta: { text: 'Hel' } }]);
    const o = m.outcome('cut');
    expect(o.usage).toBeNull();
    expect(o.partialUsage).toMatchObject({ input_tokens: 20 });
    expect(o.text).toEqual(['Hel']);
    expect(o.failure?.kind).toBe('stream-cut');
  });

  it('mid-stream errors, and streams that end before their last event, are failures', () => {
    expect(feed('messages', [{ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]).outcome('complete').failure).toEqual({ kind: 'stream-error', type: 'overloaded_error', message: 'Overloaded' });
    expect(feed('chat', [{ error: { message: 'boom', type: 'server_error' } }]).outcome('complete').failure).toMatchObject({ kind: 'stream-error', type: 'server_error' });
    expect(feed('chat', [{ choices: [{ index: 0, delta: { content: 'x' } }] }]).outcome('complete').failure).toMatchObject({ kind: 'stream-cut', message: 'stream ended before [DONE]' });
    expect(feed('chat', [{ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }]).outcome('complete').failure).toBeUndefined();
    expect(feed('chat', [DONE]).outcome('aborted').failure?.kind).toBe('aborted');
  });

  it('chat streams gather text per choice; legacy completions read choices[].text', () => {
    const chat = feed('chat', [
      { model: 'gpt-4o', choices: [{ index: 1, delta: { content: 'b' } }, { index: 0, delta: { content: 'a', tool_calls: [{ function: { arguments: '{}' } }] } }] },
      DONE,
    ]).outcome('complete');
    expect(chat.text).toEqual(['a{}', 'b']);
    const legacy = feed('completions', [{ choices: [{ index: 0, text: 'once', finish_reason: null }] }, { choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } }, DONE]).outcome('complete');
    expect(legacy.text).toEqual(['once']);
    expect(legacy.usage).toMatchObject({ input_tokens: 4, output_tokens: 2 });
  });

  it('Responses streams: usage from response.completed', () => {
    const o = feed('responses', [
      { type: 'response.created', response: { model: 'gpt-4o-mini' } },
      { type: 'response.output_text.delta', delta: 'Hi' },
      { type: 'response.completed', response: { model: 'gpt-4o-mini-2024-07-18', usage: { input_tokens: 8, output_tokens: 2, input_tokens_details: { cached_tokens: 3 } } } },
    ]).outcome('complete');
    expect(o).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', text: ['Hi'], usage: { input_tokens: 8, output_tokens: 2, input_token_details: { cache_read: 3 } } });
    expect(o.failure).toBeUndefined();
  });

  it('whole bodies: usage and text of every API, and errors in either format', () => {
    expect(bodyOutcome('chat', 200, JSON.stringify({ model: 'm', choices: [{ message: { content: 'x' } }], usage: { prompt_tokens: 1, completion_tokens: 2 } }), 'complete')).toMatchObject({ model: 'm', text: ['x'], usage: { input_tokens: 1, output_tokens: 2 } });
    expect(bodyOutcome('embeddings', 200, JSON.stringify({ model: 'e', data: [], usage: { prompt_tokens: 7, total_tokens: 7 } }), 'complete').usage).toMatchObject({ input_tokens: 7, output_tokens: 0 });
    expect(bodyOutcome('messages', 200, JSON.stringify({ model: 'c', content: [{ type: 'text', text: 'y' }], usage: { input_tokens: 5, cache_creation_input_tokens: 2, output_tokens: 3 } }), 'complete')).toMatchObject({ text: ['y'], usage: { input_tokens: 7, output_tokens: 3 } });
    expect(bodyOutcome('responses', 200, JSON.stringify({ model: 'r', output: [{ content: [{ type: 'output_text', text: 'z' }] }], usage: { input_tokens: 1, output_tokens: 1 } }), 'complete').text).toEqual(['z']);
    expect(bodyOutcome('chat', 401, JSON.stringify({ error: { message: 'Incorrect API key', type: 'invalid_request_error', code: 'invalid_api_key' } }), 'complete').failure).toEqual({ kind: 'http', status: 401, type: 'invalid_request_error', message: 'Incorrect API key' });
    expect(bodyOutcome('messages', 529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), 'complete').failure).toEqual({ kind: 'http', status: 529, type: 'overloaded_error', message: 'Overloaded' });
    expect(bodyOutcome('chat', 502, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'complete').failure).toEqual({ kind: 'http', status: 502, message: '502 Bad Gateway' });
  });

  it('reads what a request sends, text only, for an estimate', () => {
    expect(requestHead({ model: 'gpt-4o', stream: true })).toEqual({ model: 'gpt-4o', stream: true });
    expect(requestHead(undefined)).toEqual({ model: '', stream: false });
    const parts = [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'b' }];
    expect(sentText('chat', { messages: [{ role: 'user', content: parts }] })).toEqual({ messages: [{ role: 'user', content: parts }] });
    // Tool calls and tool results are kept for the chat formula; what is malformed is left out.
    const call = { id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } };
    expect(sentText('chat', { messages: [{ role: 'assistant', content: null, tool_calls: [call, 7] }, { role: 'tool', tool_call_id: 'c1', content: 'r' }, { role: 7, content: 5, tool_calls: 'x' }] })).toEqual({
      messages: [
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'c1', content: 'r' },
        { role: 'user', content: null },
      ],
    });
    expect(sentText('messages', { system: [{ type: 'text', text: 'S' }], messages: [{ role: 'user', content: 'Q' }] }).messages).toEqual([{ role: 'system', content: 'S' }, { role: 'user', content: 'Q' }]);
    expect(sentText('responses', { instructions: 'I', input: 'Q' }).messages).toEqual([{ role: 'system', content: 'I' }, { role: 'user', content: 'Q' }]);
    expect(sentText('embeddings', { input: ['x', 'y'] }).texts).toEqual(['x', 'y']);
    expect(sentText('completions', { prompt: 'p' }).texts).toEqual(['p']);
    expect(sentText('chat', undefined)).toEqual({ messages: [] });
    expect(parseData('[DONE]')).toBe(DONE);
    expect(parseData('{nope')).toBeUndefined();
  });

  // The proxy feeds meters lazily (raw bytes, parsed only when needed); the outcome must be
  // exactly what feeding every parsed event gives.
  type Wire = [event: string, data: string][];
  const c = (extra: object) => JSON.stringify({ id: 'x', model: 'gpt-4o-mini-2024-07-18', ...extra });
  const delta = (content: string, finish: string | null = null, i = 0) => c({ choices: [{ index: i, delta: { content }, finish_reason: finish }], usage: null });
  const USAGE = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, completion_tokens_details: { reasoning_tokens: 1 } };
  const LAZY_CASES: [string, Parameters<typeof streamMeter>[0], Wire, BodyEnd][] = [
    ['chat with usage', 'chat', [['', delta('Hel')], ['', delta('lo', 'stop')], ['', c({ choices: [], usage: USAGE })], ['', '[DONE]']], 'complete'],
    ['chat without usage: the text is read', 'chat', [['', delta('Hel')], ['', delta(' "usage" ü🙂', 'stop')], ['', '[DONE]']], 'complete'],
    ['chat without [DONE] but every choice finished', 'chat', [['', delta('a', null, 0)], ['', delta('b', 'stop', 1)], ['', delta('', 'stop', 0)], ['', c({ choices: [], usage: USAGE })]], 'complete'],
    ['chat without [DONE], unfinished', 'chat', [['', delta('a')], ['', c({ choices: [], usage: USAGE })]], 'complete'],
    ['chat cut mid-way', 'chat', [['', delta('a')], ['', delta('b')]], 'cut'],
    // The model comes from the chunks read; when none of them names one (a usage chunk without
    // it), from the first chunk that does, read only then.
    [
      'chat whose usage chunk names no model',
      'chat',
      [
        ['', JSON.stringify({ id: 'x', choices: [{ index: 0, delta: { role: 'assistant' } }], usage: null })],
        ['', delta('a', 'stop')],
        ['', JSON.stringify({ id: 'x', choices: [], usage: USAGE })],
        ['', '[DONE]'],
      ],
      'complete',
    ],
    ['chat where no chunk names a model', 'chat', [['', JSON.stringify({ choices: [{ index: 0, delta: { content: 'a' }, finish_reason: 'stop' }] })], ['', JSON.stringify({ choices: [], usage: USAGE })], ['', '[DONE]']], 'complete'],
    ['chat with an error chunk', 'chat', [['', delta('a')], ['', JSON.stringify({ error: { message: 'boom', type: 'server_error' } })]], 'complete'],
    // include_usage puts "usage":null last in every chunk, an error chunk's too: the stripper
    // reads such a chunk from its end, and must still see the error.
    ['chat with an error chunk beside usage null, then usage', 'chat', [['', delta('a')], ['', JSON.stringify({ error: { message: 'boom', type: 'server_error' }, usage: null })], ['', c({ choices: [], usage: USAGE })], ['', '[DONE]']], 'complete'],
    ['chat with usage nested (Groq) beside usage null, and no usage chunk', 'chat', [['', delta('a')], ['', c({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], x_groq: { usage: USAGE }, usage: null })], ['', '[DONE]']], 'complete'],
    ['chat with usage on content chunks (vLLM)', 'chat', [['', c({ choices: [{ index: 0, delta: { content: 'x' } }], usage: { prompt_tokens: 9, completion_tokens: 1 } })], ['', c({ choices: [{ index: 0, delta: { content: 'y' }, finish_reason: 'stop' }], usage: USAGE })], ['', '[DONE]']], 'complete'],
    ['chat with pretty-printed usage', 'chat', [['', delta('a', 'stop')], ['', '{"choices": [], "usage" : {"prompt_tokens": 2, "completion_tokens": 1}}'], ['', '[DONE]']], 'complete'],
    ['legacy completions', 'completions', [['', JSON.stringify({ choices: [{ index: 0, text: 'once', finish_reason: 'stop' }] })], ['', '[DONE]']], 'complete'],
    [
      'Anthropic',
      'messages',
      [
        ['message_start', JSON.stringify({ type: 'message_start', message: { model: 'claude-3-5-haiku-20241022', usage: { input_tokens: 20, cache_read_input_tokens: 4, output_tokens: 1 } } })],
        ['content_block_delta', JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } })],
        ['message_delta', JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } })],
        ['message_stop', JSON.stringify({ type: 'message_stop' })],
      ],
      'complete',
    ],
    [
      'Anthropic cut before message_delta: the text is read',
      'messages',
      [
        ['message_start', JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 20, output_tokens: 1 } } })],
        ['content_block_delta', JSON.stringify({ type: 'content_block_delta', delta: { text: 'Hel' } })],
        ['content_block_delta', JSON.stringify({ type: 'content_block_delta', delta: { partial_json: '{"a"' } })],
      ],
      'cut',
    ],
    [
      // message_stop is known by its name alone (never parsed): without it, a clean end is a cut stream.
      'Anthropic ended cleanly without message_stop',
      'messages',
      [
        ['message_start', JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 20, output_tokens: 1 } } })],
        ['message_delta', JSON.stringify({ type: 'message_delta', usage: { output_tokens: 5 } })],
      ],
      'complete',
    ],
    ['Anthropic error', 'messages', [['error', JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })]], 'complete'],
    [
      'Responses',
      'responses',
      [
        ['response.created', JSON.stringify({ type: 'response.created', response: { model: 'gpt-4o-mini' } })],
        ['response.output_text.delta', JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' })],
        ['response.completed', JSON.stringify({ type: 'response.completed', response: { model: 'gpt-4o-mini-2024-07-18', usage: { input_tokens: 8, output_tokens: 2 } } })],
      ],
      'complete',
    ],
    ['Responses cut: the text is read', 'responses', [['response.output_text.delta', JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' })]], 'cut'],
  ];

  it.each(LAZY_CASES)('fed lazily, a meter gives what it gives fed every event: %s', (_name, api, wire, end) => {
    const eager = streamMeter(api);
    const lazy = streamMeter(api);
    for (const [event, data] of wire) {
      eager.data(parseData(data));
      lazy.raw(event, Buffer.from(data));
    }
    const { text: fullText, ...expected } = eager.outcome(end);
    const { text, ...got } = lazy.outcome(end);
    expect(got).toEqual(expected);
    // The text is read only when it is needed: for an estimate, when no usage came.
    if (!expected.usage) expect(text).toEqual(fullText);
    // And the proxy's own path for chat streams: through the stripper, as SSE bytes.
    if (api === 'chat' || api === 'completions') {
      // In one read, and in reads of 7 bytes (every line joined across reads).
      const bytes = Buffer.from(wire.map(([, d]) => `data: ${d}\n\n`).join(''));
      for (const size of [bytes.length, 7]) {
        const through = streamMeter(api);
        const stripper = new UsageStripper(through);
        for (let i = 0; i < bytes.length; i += size) stripper.push(bytes.subarray(i, i + size));
        const { text: throughText, ...gotThrough } = through.outcome(end);
        expect(gotThrough).toEqual(expected);
        if (!expected.usage) expect(throughText).toEqual(fullText);
      }
    }
  });

  it('reads unread deltas once they pass about a megabyte, keeping the text whole and in order', () => {
    const lazy = streamMeter('chat');
    const pieces = Array.from({ length: 30_000 }, (_, i) => `${i} `.padEnd(100, 'x')); // ~6 MB of chunks: several drains
    for (const piece of pieces) lazy.raw('', Buffer.from(delta(piece)));
    lazy.raw('', Buffer.from('[DONE]'));
    const o = lazy.outcome('complete');
    expect(o.usage).toBeNull();
    expect(o.text).toEqual([pieces.join('')]);
    expect(o.failure).toBeUndefined();
  });

  it('classifies chunk bytes in one pass: usage null or object, error, [DONE]', () => {
    const f = (s: string) => classify(Buffer.from(s));
    expect(f('[DONE]')).toBe(IS_DONE);
    expect(f('{"choices":[],"usage":null}')).toBe(USAGE_KEY);
    expect(f('{"choices":[],"usage" : {"prompt_tokens":1}}')).toBe(USAGE_KEY | USAGE_OBJECT);
    expect(f('{"error":{"message":"x"}}')).toBe(ERROR_KEY);
    expect(f('{"choices":[{"delta":{"content":"hi"}}]}')).toBe(0);
    // "usage" as a string value: a false alarm at worst (a cut that finds nothing), never a miss.
    expect(f('{"choices":[{"delta":{"content":"usage"}}]}')).toBe(USAGE_KEY);
    // A chunk ending in include_usage's "usage":null is read from its end: an error first is
    // seen, a usage object nested elsewhere is left for the meter's reading at the end.
    expect(f('{"choices":[{"delta":{"content":"hi"}}],"usage":null}')).toBe(USAGE_KEY);
    expect(f('{ "error":{"message":"x"},"usage" : null }')).toBe(USAGE_KEY | ERROR_KEY);
    expect(f('{"choices":[],"x_groq":{"usage":{"prompt_tokens":1}},"usage":null}')).toBe(USAGE_KEY);
    expect(f('{"choices":[],"x_groq":{"usage":{"prompt_tokens":1}}}')).toBe(USAGE_KEY | USAGE_OBJECT);
    expect(f('{"choices":[],"usage":{"prompt_tokens":1},"error":null}')).toBe(USAGE_KEY | USAGE_OBJECT | ERROR_KEY);
  });
});

// ---------------------------------------------------------------------------------------------
// The server, against a scripted upstream whose every byte the test decides.

type Script = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void | Promise<void>;

describe('the proxy server', () => {
  let upstream: http.Server;
  let upstreamUrl: string;
  let script: Script;
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let proxy: MeteringProxy | undefined;
  let records: CallRecord[] = [];
  const table = loadPriceTable();

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts).toString();
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        void script(req, body, res);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => {
    upstream.closeAllConnections();
    upstream.close(() => resolve());
  }));
  afterEach(async () => {
    await proxy?.close(100);
    proxy = undefined;
    records = [];
    seen.length = 0;
  });

  async function start(extra: { maxCostUsd?: number; openai?: string } = {}): Promise<string> {
    proxy = await startProxy({
      host: '127.0.0.1',
      port: 0,
      upstreams: { openai: new URL(extra.openai ?? `${upstreamUrl}/v1`), anthropic: new URL(upstreamUrl) },
      table,
      limits: limitsOf({}),
      maxCostUsd: extra.maxCostUsd,
      onRecord: (r) => records.push(r),
    });
    return proxy.origin;
  }

  /** One request through the proxy: status, headers and the body's exact bytes. */
  function call(origin: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  const settled = async (n: number) => {
    for (let i = 0; i < 100 && records.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return records;
  };

  it('relays an injected stream as if usage had never been asked for, and meters it', async () => {
    script = (_req, body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(chatStream(JSON.parse(body).stream_options?.include_usage === true));
    };
    const origin = await start();
    const r = await call(origin, '/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer sk-proj-abcdefgh12345678' });
    expect(r.body.equals(chatStream(false))).toBe(true);
    expect(seen[0]?.body.startsWith('{"stream_options":{"include_usage":true},"model"')).toBe(true);
    expect(seen[0]?.headers.authorization).toBe('Bearer sk-proj-abcdefgh12345678');
    expect(seen[0]?.headers['accept-encoding']).toBe('identity');
    const [rec] = await settled(1);
    expect(rec).toMatchObject({ provider: 'openai', api: 'chat', model: 'gpt-4o-mini-2024-07-18', stream: true, ok: true, usage_source: 'reported', usage: { input_tokens: 9, output_tokens: 12 }, text: '' });
  });

  it('close() waits for the calls under way and cuts those still running after its grace, each recorded once before it resolves', async () => {
    let release!: () => void;
    const never = new Promise<void>((r) => (release = r));
    script = async (_req, body, res) => {
      const slow = JSON.parse(body).model === 'slow';
      await (slow ? never : new Promise((r) => setTimeout(r, 150)));
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }));
    };
    const origin = await start();
    const quick = call(origin, '/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] });
    const slow = call(origin, '/v1/chat/completions', { model: 'slow', messages: [] }).catch((e: Error) => e);
    for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    const running = proxy as MeteringProxy;
    proxy = undefined;
    running.stopping('llm-usage proxy was stopped (SIGTERM) before the response ended');
    await running.close(600);
    release();
    expect(records.map((r) => [r.requested_model, r.ok, r.error])).toEqual([
      ['gpt-4o-mini', true, null],
      ['slow', false, 'openai slow: aborted: llm-usage proxy was stopped (SIGTERM) before the response ended'],
    ]);
    expect(records[0]?.usage.total_tokens).toBe(7);
    expect((await quick).status).toBe(200);
    expect(await slow).toBeInstanceOf(Error);
  });

  it('streams each event through as it comes: no waiting for the rest', async () => {
    let release!: () => void;
    const rest = new Promise<void>((r) => (release = r));
    script = async (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const stream = chatStream(true).toString();
      const cut = stream.indexOf('\n\n') + 2;
      res.write(stream.slice(0, cut));
      await rest;
      res.end(stream.slice(cut));
    };
    const origin = await start();
    const firstEvent = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${origin}/v1/chat/completions`, { method: 'POST' }, (res) => res.once('data', (d: Buffer) => resolve(d.toString())));
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [] }));
    });
    expect(firstEvent).toBe(chatStream(false).toString().split('\n\n')[0] + '\n\n');
    release();
    await settled(1);
  });

  it('passes compressed bodies through byte for byte and still reads their usage', async () => {
    const json = Buffer.from(JSON.stringify({ id: 'm1', type: 'message', model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 12, output_tokens: 3 } }));
    const gzipped = zlib.gzipSync(json);
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': gzipped.length });
      res.end(gzipped);
    };
    const origin = await start();
    const r = await call(origin, '/v1/messages', { model: 'claude-3-5-haiku-20241022', messages: [] }, { 'anthropic-version': '2023-06-01', 'accept-encoding': 'gzip, zstd' });
    expect(r.body.equals(gzipped)).toBe(true);
    expect(seen[0]?.headers['accept-encoding']).toBe('gzip');
    expect((await settled(1))[0]).toMatchObject({ provider: 'anthropic', usage_source: 'reported', usage: { input_tokens: 12, output_tokens: 3 } });

    const sse = Buffer.from(
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-3-5-haiku-20241022","usage":{"input_tokens":12,"output_tokens":1}}}\n\n' +
        'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":4}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
    const brotli = zlib.brotliCompressSync(sse);
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'br' });
      res.end(brotli);
    };
    const s = await call(origin, '/v1/messages', { model: 'claude-3-5-haiku-20241022', stream: true, messages: [] }, { 'anthropic-version': '2023-06-01' });
    expect(s.body.equals(brotli)).toBe(true);
    expect((await settled(2))[1]).toMatchObject({ usage: { input_tokens: 12, output_tokens: 4 }, usage_source: 'reported' });
  });

  it('a stream cut upstream is cut for the client too, and counted as failed with an estimate', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello there"}}],"usage":null}\n\n', () => res.socket?.destroy());
    };
    const origin = await start();
    await expect(call(origin, '/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow();
    const [rec] = await settled(1);
    expect(rec).toMatchObject({ ok: false, error_kind: 'stream-cut', usage_source: 'estimated' });
    expect(rec?.usage.output_tokens).toBeGreaterThan(0);
  });

  it('a client that leaves mid-stream aborts the upstream request; the call is recorded as aborted', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}\n\n');
      res.on('close', upstreamClosed);
    };
    const origin = await start();
    await new Promise<void>((resolve) => {
      const req = http.request(`${origin}/v1/messages`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01' } }, (res) => res.once('data', () => {
        req.destroy();
        resolve();
      }));
      req.on('error', () => undefined);
      req.end(JSON.stringify({ model: 'claude-3-5-haiku-20241022', stream: true, messages: [] }));
    });
    await closed;
    const [rec] = await settled(1);
    expect(rec).toMatchObject({ ok: false, error_kind: 'aborted', usage_source: 'estimated', usage: { input_tokens: 5 } });
  });

  it('a server that rejects stream_options gets the client\'s own request instead', async () => {
    script = (_req, body, res) => {
      if (JSON.parse(body).stream_options) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"Unrecognized request argument supplied: stream_options"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(chatStream(false));
    };
    const origin = await start();
    const r = await call(origin, '/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(200);
    expect(r.body.equals(chatStream(false))).toBe(true);
    expect(seen.map((s) => JSON.parse(s.body).stream_options)).toEqual([{ include_usage: true }, undefined]);
    expect((await settled(1))[0]).toMatchObject({ ok: true, usage_source: 'estimated' });
  });

  it('--max-cost: once reached, calls get a 429 in the provider\'s format and never go upstream', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: 'gpt-4o', choices: [], usage: { prompt_tokens: 1000, completion_tokens: 1000 } }));
    };
    const origin = await start({ maxCostUsd: 0.001 });
    // Its worst case (a few prompt tokens and max_tokens 1) fits; what it reports, $0.0125, does not.
    expect((await call(origin, '/v1/chat/completions', { model: 'gpt-4o', max_tokens: 1, messages: [] })).status).toBe(200);
    await settled(1);
    const refused = await call(origin, '/v1/messages', { model: 'claude-3-5-haiku-20241022', max_tokens: 10, messages: [] }, { 'anthropic-version': '2023-06-01' });
    expect(refused.status).toBe(429);
    expect(refused.headers['x-should-retry']).toBe('false');
    expect(JSON.parse(refused.body.toString())).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringMatching(/^llm-usage: budget exceeded: its worst case \$0\.0000\d+ on top of \$0\.0125 spent and \$0\.00 in flight would pass --max-cost \$0\.001; this request was not sent to anthropic$/) } });
    expect(seen).toHaveLength(1);
    const recs = await settled(2);
    expect(recs[1]).toMatchObject({ ok: false, usage_source: 'none', cost_usd: 0, error: expect.stringContaining('refused by llm-usage') });
    expect(proxy?.stats()).toMatchObject({ requests: 2, refused: { budget: 1 }, spentUsd: 0.0125 });
  });

  it('an unreachable upstream: 502 in the provider\'s format, a failed call', async () => {
    const origin = await start({ openai: 'http://127.0.0.1:1/v1' });
    const r = await call(origin, '/v1/chat/completions', { model: 'gpt-4o', messages: [] });
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body.toString())).toEqual({ error: { message: 'llm-usage proxy: cannot reach http://127.0.0.1:1/v1 (ECONNREFUSED)', type: 'server_error', param: null, code: 'llm_usage_upstream_unreachable' } });
    expect((await settled(1))[0]).toMatchObject({ ok: false, error_kind: 'connection', usage_source: 'none' });
  });

  it('never forwards a request for another host or path, and passes other provider paths through unmetered', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[]}');
    };
    const origin = await start();
    const port = new URL(origin).port;
    const absolute = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.end('GET http://example.com/v1/models HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
    });
    expect(absolute).toMatch(/^HTTP\/1\.1 404/);
    expect(absolute).toContain('llm-usage proxy: no route');
    expect(seen).toHaveLength(0);

    const models = await new Promise<number>((resolve) => http.get(`${origin}/v1/models?limit=2`, { headers: { host: 'evil.example' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }));
    expect(models).toBe(200);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/models?limit=2', headers: { host: new URL(upstreamUrl).host } });
    expect(proxy?.stats().unmetered).toBe(1);
    expect(records).toHaveLength(0);
  });

  it('a client that opens a connection per call (urllib) still reuses one upstream connection', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 } }));
    };
    let opened = 0;
    const count = () => opened++;
    upstream.on('connection', count);
    try {
      const origin = await start();
      for (let i = 0; i < 3; i++) {
        const r = await call(origin, '/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, { connection: 'close' });
        expect(r.headers.connection).toBe('close');
      }
      expect(await settled(3)).toHaveLength(3);
      expect(records.every((r) => r.usage.total_tokens === 27)).toBe(true);
      expect(seen).toHaveLength(3);
      expect(opened).toBe(1);
    } finally {
      upstream.off('connection', count);
    }
  });

  it('keeps a key the upstream echoes out of the record', async () => {
    script = (_req, _body, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided: my-own-key-0123456789.', type: 'invalid_request_error' } }));
    };
    const origin = await start();
    await call(origin, '/v1/chat/completions', { model: 'gpt-4o', messages: [] }, { authorization: 'Bearer my-own-key-0123456789' });
    const [rec] = await settled(1);
    expect(rec?.error).toContain('Incorrect API key provided: ***.');
    expect(JSON.stringify(rec)).not.toContain('my-own-key');
  });
});

describe('records of proxied calls', () => {
  const table = loadPriceTable();
  const ended = (response: EndedCall['response'], request = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tell me a joke"}]}'): EndedCall => ({
    provider: 'openai',
    api: 'chat',
    model: 'gpt-4o-mini',
    stream: false,
    durationMs: 5,
    request: Buffer.from(request),
    response,
  });

  it('are made at once when the usage needs no counting (reported, or none for a call that failed first), else once counted', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' } }], usage: { prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 } }));
    const reported = recordCall(ended({ status: 200, body, end: 'complete' }), table);
    expect(reported).not.toBeInstanceOf(Promise);
    expect(reported).toMatchObject({ usage_source: 'reported', usage: { total_tokens: 27 }, text: '', cost_usd: expect.any(Number) });

    const refused = recordCall(ended({ status: 429, body: Buffer.from('{"error":{"message":"slow down","type":"rate_limit"}}'), end: 'complete' }), table);
    expect(refused).not.toBeInstanceOf(Promise);
    expect(refused).toMatchObject({ ok: false, usage_source: 'none', cost_usd: 0 });

    const unreported = recordCall(ended({ status: 200, body: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'Why did the chicken cross the road?' } }] })), end: 'complete' }), table);
    expect(unreported).toBeInstanceOf(Promise);
    const counted = await unreported;
    expect(counted).toMatchObject({ ok: true, usage_source: 'estimated', text: '' });
    expect(counted.usage.input_tokens).toBeGreaterThan(0);
    expect(counted.usage.output_tokens).toBeGreaterThan(0);
  });
});
