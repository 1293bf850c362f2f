/**
 * Each provider end to end through the real SDK over real HTTP, against a small scripted
 * server on 127.0.0.1 (each test sets the handler for its own scenario).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { providerFor } from '../src/providers/index.js';
import type { Api, CallEvents, CallOutcome, CallSpec } from '../src/providers/types.js';

const KEY = 'sk-test-0123456789abcdefSECRET';

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}
type Handler = (req: Received, res: ServerResponse) => void;

let server: Server;
let port: number;
let handler: Handler;
let received: Received[];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const entry: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
      };
      received.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  handler = (_req, res) => {
    res.writeHead(500).end('no handler');
  };
});

// ---- wire helpers -------------------------------------------------------------------

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

type Ending = 'end' | 'destroy' | 'hang';

/** Writes SSE frames one by one (separate writes, like a real stream), then ends as told. */
function sse(res: ServerResponse, frames: string[], ending: Ending = 'end', headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  let i = 0;
  const next = (): void => {
    if (res.destroyed) return;
    const frame = frames[i++];
    if (frame !== undefined) {
      res.write(frame);
      setTimeout(next, 2);
      return;
    }
    // Destroying the socket without the final chunk is a connection cut mid-body.
    if (ending === 'end') res.end();
    else if (ending === 'destroy') setTimeout(() => res.destroy(), 10);
  };
  next();
}

const data = (payload: unknown): string => `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
const event = (name: string, payload: unknown): string => `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;

function chatChunk(choices: Array<{ index: number; content?: string; finish?: string }>, extra: Record<string, unknown> = {}) {
  return data({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: choices.map((c) => ({
      index: c.index,
      delta: c.content === undefined ? {} : { content: c.content },
      finish_reason: c.finish ?? null,
    })),
    ...extra,
  });
}

function chatUsageChunk(usage: Record<string, unknown>) {
  return data({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [], usage });
}

const anthropicStart = (usage: Record<string, unknown>) =>
  event('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-test-1',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  });
const anthropicBlockStart = event('content_block_start', {
  type: 'content_block_start',
  index: 0,
  content_block: { type: 'text', text: '' },
});
const anthropicText = (text: string) =>
  event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
const anthropicBlockStop = event('content_block_stop', { type: 'content_block_stop', index: 0 });
const anthropicDelta = (usage: Record<string, unknown>) =>
  event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage });
const anthropicStop = event('message_stop', { type: 'message_stop' });

// ---- call helper --------------------------------------------------------------------

function specFor(api: Api, overrides: Partial<CallSpec> = {}): CallSpec {
  const anthropic = api === 'messages';
  return {
    provider: anthropic ? 'anthropic' : 'openai',
    api,
    model: anthropic ? 'claude-test-1' : 'gpt-4o-mini',
    prompt: 'Say hello',
    stream: false,
    streamUsage: true,
    apiKey: KEY,
    baseURL: anthropic ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/v1`,
    maxRetries: 0,
    ...overrides,
  };
}

async function run(api: Api, overrides: Partial<CallSpec> = {}, events?: CallEvents): Promise<CallOutcome> {
  return (await providerFor(api)).call(specFor(api, overrides), events);
}

function streamed(): { events: CallEvents; deltas: Array<[number, string]> } {
  const deltas: Array<[number, string]> = [];
  return { deltas, events: { onText: (choice, delta) => deltas.push([choice, delta]) } };
}

// ---- OpenAI chat --------------------------------------------------------------------

describe('openai chat', () => {
  it('non-stream: text, model, request id and usage 11/16', async () => {
    handler = (_req, res) =>
      json(
        res,
        200,
        {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o-mini-2024-07-18',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there!' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 },
        },
        { 'x-request-id': 'req_chat_1' },
      );
    const { events, deltas } = streamed();
    const outcome = await run('chat', { system: 'Be brief.', maxTokens: 50, temperature: 0 }, events);
    expect(outcome).toEqual({
      text: ['Hello there!'],
      model: 'gpt-4o-mini-2024-07-18',
      usage: {
        input_tokens: 11,
        output_tokens: 16,
        total_tokens: 27,
        input_token_details: { cache_read: 0, cache_creation: 0 },
        output_token_details: { reasoning: 0 },
      },
      requestId: 'req_chat_1',
    });
    expect(deltas).toEqual([[0, 'Hello there!']]);
    const [request] = received;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ],
      max_tokens: 50,
      temperature: 0,
      stream: false,
    });
  });

  it('sends max_completion_tokens to reasoning models and reads reasoning tokens', async () => {
    handler = (_req, res) =>
      json(res, 200, {
        id: 'c',
        object: 'chat.completion',
        created: 1,
        model: 'o3-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: 1200,
          completion_tokens: 300,
          total_tokens: 1500,
          prompt_tokens_details: { cached_tokens: 1024 },
          completion_tokens_details: { reasoning_tokens: 256 },
        },
      });
    const outcome = await run('chat', { model: 'o3-mini', maxTokens: 500 });
    expect(received[0]?.body['max_completion_tokens']).toBe(500);
    expect(received[0]?.body).not.toHaveProperty('max_tokens');
    expect(outcome.usage).toMatchObject({
      input_tokens: 1200,
      output_tokens: 300,
      input_token_details: { cache_read: 1024, cache_creation: 0 },
      output_token_details: { reasoning: 256 },
    });
  });

  it('stream with include_usage: text as it arrives, usage from the last chunk', async () => {
    handler = (_req, res) =>
      sse(
        res,
        [
          chatChunk([{ index: 0, content: '' }]),
          chatChunk([{ index: 0, content: 'Hel' }]),
          chatChunk([{ index: 0, content: 'lo' }]),
          chatChunk([{ index: 0, finish: 'stop' }]),
          chatUsageChunk({ prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 }),
          data('[DONE]'),
        ],
        'end',
        { 'x-request-id': 'req_stream' },
      );
    const { events, deltas } = streamed();
    const outcome = await run('chat', { stream: true }, events);
    expect(received[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.text).toEqual(['Hello']);
    expect(deltas).toEqual([
      [0, 'Hel'],
      [0, 'lo'],
    ]);
    expect(outcome.usage).toMatchObject({ input_tokens: 11, output_tokens: 16, total_tokens: 27 });
    expect(outcome.model).toBe('gpt-4o-mini-2024-07-18');
    expect(outcome.requestId).toBe('req_stream');
  });

  it('stream from a server that omits usage: usage null, no failure', async () => {
    handler = (_req, res) =>
      sse(res, [chatChunk([{ index: 0, content: 'Hi' }]), chatChunk([{ index: 0, finish: 'stop' }]), data('[DONE]')]);
    const outcome = await run('chat', { stream: true, streamUsage: false });
    expect(received[0]?.body).not.toHaveProperty('stream_options');
    expect(outcome).toMatchObject({ text: ['Hi'], usage: null });
    expect(outcome.failure).toBeUndefined();
  });

  it('n=2 stream: deltas routed per choice index, one usage for all choices', async () => {
    handler = (_req, res) =>
      sse(res, [
        chatChunk([{ index: 0, content: 'Red' }]),
        chatChunk([{ index: 1, content: 'Blue' }]),
        chatChunk([{ index: 1, content: ' sky' }]),
        chatChunk([{ index: 0, content: ' rose' }]),
        chatChunk([{ index: 1, finish: 'stop' }]),
        chatChunk([{ index: 0, finish: 'stop' }]),
        chatUsageChunk({ prompt_tokens: 11, completion_tokens: 8, total_tokens: 19 }),
        data('[DONE]'),
      ]);
    const { events, deltas } = streamed();
    const outcome = await run('chat', { stream: true, n: 2 }, events);
    expect(received[0]?.body['n']).toBe(2);
    expect(outcome.failure).toBeUndefined();
    expect(outcome.text).toEqual(['Red rose', 'Blue sky']);
    expect(deltas).toContainEqual([1, ' sky']);
    expect(outcome.usage).toMatchObject({ input_tokens: 11, output_tokens: 8, total_tokens: 19 });
  });

  it('stream cut before the usage chunk: failure stream-cut, text kept, usage null', async () => {
    handler = (_req, res) =>
      sse(res, [chatChunk([{ index: 0, content: 'Partial ' }]), chatChunk([{ index: 0, content: 'answ' }])], 'destroy', {
        'x-request-id': 'req_cut',
      });
    const outcome = await run('chat', { stream: true });
    expect(outcome.text).toEqual(['Partial answ']);
    expect(outcome.usage).toBeNull();
    expect(outcome.failure).toMatchObject({ kind: 'stream-cut', requestId: 'req_cut' });
    // The socket closed mid-body: undici's "terminated", not our end-of-stream check.
    expect(outcome.failure?.message).toMatch(/^connection closed before the response ended \(terminated/);
    expect(outcome.requestId).toBe('req_cut');
  });

  it('stream closed cleanly before the finish chunk: failure stream-cut', async () => {
    handler = (_req, res) => sse(res, [chatChunk([{ index: 0, content: 'Half' }])], 'end');
    const outcome = await run('chat', { stream: true });
    expect(outcome).toMatchObject({ text: ['Half'], usage: null, failure: { kind: 'stream-cut' } });
    expect(outcome.failure?.message).toMatch(/^stream ended before/);
  });

  it('an error chunk mid-stream: failure stream-error with the provider type', async () => {
    handler = (_req, res) =>
      sse(res, [
        chatChunk([{ index: 0, content: 'So far' }]),
        data({ error: { message: 'The server had an error', type: 'server_error', code: null } }),
      ]);
    const outcome = await run('chat', { stream: true });
    expect(outcome.text).toEqual(['So far']);
    expect(outcome.failure).toMatchObject({ kind: 'stream-error', type: 'server_error', message: 'The server had an error' });
  });

  it('401: failure http 401 with the provider message, the key redacted', async () => {
    handler = (_req, res) =>
      json(
        res,
        401,
        {
          error: {
            message: `Incorrect API key provided: ${KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        },
        { 'x-request-id': 'req_401' },
      );
    const outcome = await run('chat', { stream: true });
    expect(outcome.usage).toBeNull();
    expect(outcome.failure).toMatchObject({ kind: 'http', status: 401, type: 'invalid_request_error', requestId: 'req_401' });
    expect(outcome.failure?.message).toContain('Incorrect API key provided: ***');
    expect(outcome.failure?.message).not.toContain(KEY);
    expect(outcome.failure?.message).not.toContain('SECRET');
  });

  it('connection refused: failure connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await run('chat', { baseURL: `http://127.0.0.1:${deadPort}/v1`, stream: true });
    expect(outcome).toMatchObject({ text: [''], usage: null, model: null });
    expect(outcome.failure?.kind).toBe('connection');
    expect(outcome.failure?.message).toMatch(/ECONNREFUSED/);
  });

  it('abort mid-stream: failure aborted, partial text kept', async () => {
    handler = (_req, res) => sse(res, [chatChunk([{ index: 0, content: 'Once upon' }])], 'hang');
    const controller = new AbortController();
    const outcome = await run(
      'chat',
      { stream: true, signal: controller.signal },
      { onText: () => controller.abort() },
    );
    expect(outcome).toMatchObject({ text: ['Once upon'], usage: null, failure: { kind: 'aborted' } });
  });

  it('abort before the response: failure aborted', async () => {
    handler = () => {
      /* never answers */
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const outcome = await run('chat', { signal: controller.signal });
    expect(outcome).toMatchObject({ text: [''], usage: null, failure: { kind: 'aborted' } });
  });

  it('verbose: one log line per attempt with status and request id, never the key', async () => {
    let attempts = 0;
    handler = (_req, res) => {
      attempts += 1;
      if (attempts === 1) {
        json(res, 429, { error: { message: 'Rate limited', type: 'requests' } }, { 'retry-after-ms': '5', 'x-request-id': 'req_a' });
      } else {
        json(
          res,
          200,
          {
            id: 'c',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o-mini',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
          },
          { 'x-request-id': 'req_b' },
        );
      }
    };
    const lines: string[] = [];
    const outcome = await run('chat', { maxRetries: 2 }, { onLog: (line) => lines.push(line) });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.requestId).toBe('req_b');
    expect(lines).toEqual([
      'attempt 1: POST /v1/chat/completions -> 429 (request id req_a)',
      'attempt 2: POST /v1/chat/completions -> 200 (request id req_b)',
    ]);
  });
});

// ---- OpenAI legacy completions and Responses ---------------------------------------

describe('openai legacy completions', () => {
  it('stream with usage; system is not sent (no system role)', async () => {
    const chunk = (text: string, finish: string | null) =>
      data({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] });
    handler = (_req, res) =>
      sse(res, [
        chunk('Hello', null),
        chunk(' world', 'stop'),
        data({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } }),
        data('[DONE]'),
      ]);
    const outcome = await run('completions', { model: 'gpt-3.5-turbo-instruct', stream: true, system: 'ignored', maxTokens: 20 });
    expect(received[0]?.path).toBe('/v1/completions');
    expect(received[0]?.body).toEqual({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Say hello',
      max_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.text).toEqual(['Hello world']);
    expect(outcome.model).toBe('gpt-3.5-turbo-instruct');
    expect(outcome.usage).toMatchObject({ input_tokens: 4, output_tokens: 2, total_tokens: 6 });
  });

  it('non-stream', async () => {
    handler = (_req, res) =>
      json(res, 200, {
        id: 'cmpl-1',
        object: 'text_completion',
        created: 1,
        model: 'gpt-3.5-turbo-instruct',
        choices: [{ index: 0, text: 'Hi', logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 },
      });
    const outcome = await run('completions', { model: 'gpt-3.5-turbo-instruct' });
    expect(outcome).toMatchObject({ text: ['Hi'], usage: { input_tokens: 4, output_tokens: 1, total_tokens: 5 } });
  });
});

describe('openai responses', () => {
  const response = (status: string, usage: unknown) => ({
    id: 'resp_1',
    object: 'response',
    created_at: 1,
    status,
    model: 'gpt-5-mini-2025-08-07',
    output: [],
    usage,
  });
  const responsesUsage = {
    input_tokens: 1500,
    input_tokens_details: { cached_tokens: 1024 },
    output_tokens: 400,
    output_tokens_details: { reasoning_tokens: 320 },
    total_tokens: 1900,
  };

  it('stream: text deltas and usage from response.completed', async () => {
    handler = (_req, res) =>
      sse(
        res,
        [
          event('response.created', { type: 'response.created', sequence_number: 0, response: response('in_progress', null) }),
          event('response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi ', logprobs: [] }),
          event('response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 2, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'there', logprobs: [] }),
          event('response.completed', { type: 'response.completed', sequence_number: 3, response: response('completed', responsesUsage) }),
        ],
        'end',
        { 'x-request-id': 'req_resp' },
      );
    const { events, deltas } = streamed();
    const outcome = await run('responses', { model: 'gpt-5-mini', stream: true, system: 'Be brief.', maxTokens: 600 }, events);
    expect(received[0]?.path).toBe('/v1/responses');
    expect(received[0]?.body).toEqual({
      model: 'gpt-5-mini',
      input: 'Say hello',
      instructions: 'Be brief.',
      max_output_tokens: 600,
      stream: true,
    });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.text).toEqual(['Hi there']);
    expect(deltas).toEqual([
      [0, 'Hi '],
      [0, 'there'],
    ]);
    expect(outcome.model).toBe('gpt-5-mini-2025-08-07');
    expect(outcome.requestId).toBe('req_resp');
    expect(outcome.usage).toEqual({
      input_tokens: 1500,
      output_tokens: 400,
      total_tokens: 1900,
      input_token_details: { cache_read: 1024, cache_creation: 0 },
      output_token_details: { reasoning: 320 },
    });
  });

  it('stream cut before response.completed: failure stream-cut, usage null', async () => {
    handler = (_req, res) =>
      sse(
        res,
        [
          event('response.created', { type: 'response.created', sequence_number: 0, response: response('in_progress', null) }),
          event('response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 1, item_id: 'm', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [] }),
        ],
        'destroy',
      );
    const outcome = await run('responses', { stream: true });
    expect(outcome).toMatchObject({ text: ['Hi'], usage: null, failure: { kind: 'stream-cut' } });
  });

  it('error event mid-stream: failure stream-error with its code, text kept', async () => {
    handler = (_req, res) =>
      sse(res, [
        event('response.created', { type: 'response.created', sequence_number: 0, response: response('in_progress', null) }),
        event('response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 1, item_id: 'm', output_index: 0, content_index: 0, delta: 'So far', logprobs: [] }),
        event('error', { type: 'error', sequence_number: 2, code: 'server_error', message: 'Something broke', param: null }),
      ]);
    const outcome = await run('responses', { stream: true });
    expect(outcome).toMatchObject({
      text: ['So far'],
      usage: null,
      failure: { kind: 'stream-error', type: 'server_error', message: 'Something broke' },
    });
  });

  it('non-stream: output text and usage', async () => {
    handler = (_req, res) =>
      json(res, 200, {
        ...response('completed', responsesUsage),
        output: [
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello!', annotations: [] }] },
        ],
      });
    const outcome = await run('responses');
    expect(outcome.text).toEqual(['Hello!']);
    expect(outcome.usage).toMatchObject({ input_tokens: 1500, output_tokens: 400, output_token_details: { reasoning: 320 } });
  });
});

// ---- Anthropic Messages -------------------------------------------------------------

describe('anthropic messages', () => {
  it('non-stream: cache reads and writes added to input, max_tokens defaulted to 1024', async () => {
    handler = (_req, res) =>
      json(
        res,
        200,
        {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-test-1',
          content: [{ type: 'text', text: 'Hello!' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 20, cache_read_input_tokens: 1000, cache_creation_input_tokens: 500, output_tokens: 16 },
        },
        { 'request-id': 'req_ant_1' },
      );
    const outcome = await run('messages', { system: 'Be brief.' });
    expect(received[0]?.path).toBe('/v1/messages');
    // @anthropic-ai/sdk 1.x sends the API key as a bearer token, not x-api-key.
    expect(received[0]?.headers['authorization']).toBe(`Bearer ${KEY}`);
    expect(received[0]?.body).toEqual({
      model: 'claude-test-1',
      max_tokens: 1024,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: false,
    });
    expect(outcome).toEqual({
      text: ['Hello!'],
      model: 'claude-test-1',
      usage: {
        input_tokens: 1520,
        output_tokens: 16,
        total_tokens: 1536,
        input_token_details: { cache_read: 1000, cache_creation: 500 },
        output_token_details: { reasoning: 0 },
      },
      requestId: 'req_ant_1',
    });
  });

  it('stream: message_delta output replaces message_start output (16, not 17)', async () => {
    handler = (_req, res) =>
      sse(
        res,
        [
          anthropicStart({ input_tokens: 11, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 }),
          anthropicBlockStart,
          event('ping', { type: 'ping' }),
          anthropicText('Hello'),
          anthropicText(' world'),
          anthropicBlockStop,
          anthropicDelta({ output_tokens: 16 }),
          anthropicStop,
        ],
        'end',
        { 'request-id': 'req_ant_s' },
      );
    const { events, deltas } = streamed();
    const outcome = await run('messages', { stream: true, maxTokens: 64 }, events);
    expect(received[0]?.body).toMatchObject({ stream: true, max_tokens: 64 });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.partialUsage).toBeUndefined();
    expect(outcome.text).toEqual(['Hello world']);
    expect(deltas).toEqual([
      [0, 'Hello'],
      [0, ' world'],
    ]);
    expect(outcome.model).toBe('claude-test-1');
    expect(outcome.requestId).toBe('req_ant_s');
    expect(outcome.usage).toMatchObject({ input_tokens: 11, output_tokens: 16, total_tokens: 27 });
  });

  it('stream: a newer message_delta repeating input/cache fields replaces them too', async () => {
    handler = (_req, res) =>
      sse(res, [
        anthropicStart({ input_tokens: 20, cache_creation_input_tokens: 500, cache_read_input_tokens: 1000, output_tokens: 1, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 500 } }),
        anthropicText('ok'),
        anthropicDelta({ input_tokens: 20, cache_creation_input_tokens: 500, cache_read_input_tokens: 1000, output_tokens: 30 }),
        anthropicStop,
      ]);
    const outcome = await run('messages', { stream: true });
    expect(outcome.usage).toEqual({
      input_tokens: 1520,
      output_tokens: 30,
      total_tokens: 1550,
      input_token_details: { cache_read: 1000, cache_creation: 500, cache_creation_1h: 500 },
      output_token_details: { reasoning: 0 },
    });
  });

  it('stream cut after message_start: usage null, partialUsage keeps the input, failure stream-cut', async () => {
    handler = (_req, res) =>
      sse(
        res,
        [
          anthropicStart({ input_tokens: 20, cache_creation_input_tokens: 500, cache_read_input_tokens: 1000, output_tokens: 1 }),
          anthropicBlockStart,
          anthropicText('Partial'),
        ],
        'destroy',
        { 'request-id': 'req_ant_cut' },
      );
    const outcome = await run('messages', { stream: true });
    expect(outcome.text).toEqual(['Partial']);
    expect(outcome.usage).toBeNull();
    expect(outcome.partialUsage).toMatchObject({
      input_tokens: 1520,
      output_tokens: 1,
      input_token_details: { cache_read: 1000, cache_creation: 500 },
    });
    expect(outcome.failure).toMatchObject({ kind: 'stream-cut', requestId: 'req_ant_cut' });
  });

  it('stream closed cleanly without message_stop: failure stream-cut', async () => {
    handler = (_req, res) => sse(res, [anthropicStart({ input_tokens: 5, output_tokens: 1 }), anthropicText('Hi')], 'end');
    const outcome = await run('messages', { stream: true });
    expect(outcome).toMatchObject({ text: ['Hi'], usage: null, partialUsage: { input_tokens: 5 }, failure: { kind: 'stream-cut' } });
  });

  it('error event mid-stream: failure stream-error with its type, text so far kept', async () => {
    handler = (_req, res) =>
      sse(
        res,
        [
          anthropicStart({ input_tokens: 11, output_tokens: 1 }),
          anthropicBlockStart,
          anthropicText('Before the storm'),
          event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
        ],
        'end',
        { 'request-id': 'req_ant_err' },
      );
    const outcome = await run('messages', { stream: true });
    expect(outcome.text).toEqual(['Before the storm']);
    expect(outcome.usage).toBeNull();
    expect(outcome.partialUsage).toMatchObject({ input_tokens: 11, output_tokens: 1 });
    expect(outcome.failure).toEqual({
      kind: 'stream-error',
      type: 'overloaded_error',
      message: 'Overloaded',
      requestId: 'req_ant_err',
    });
  });

  it('401: failure http 401 with type and message, the key redacted', async () => {
    handler = (_req, res) =>
      json(
        res,
        401,
        { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${KEY} (not sk-ant-api03-abcdEFGH)` } },
        { 'request-id': 'req_ant_401' },
      );
    const outcome = await run('messages', { stream: true });
    expect(outcome.failure).toEqual({
      kind: 'http',
      status: 401,
      type: 'authentication_error',
      message: 'invalid x-api-key *** (not ***)',
      requestId: 'req_ant_401',
    });
  });

  it('529 overloaded after retries: failure http 529, one log line per attempt', async () => {
    handler = (_req, res) =>
      json(res, 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, { 'request-id': 'req_529', 'retry-after-ms': '5' });
    const lines: string[] = [];
    const outcome = await run('messages', { maxRetries: 1 }, { onLog: (line) => lines.push(line) });
    expect(outcome.failure).toMatchObject({ kind: 'http', status: 529, type: 'overloaded_error', message: 'Overloaded' });
    expect(lines).toEqual([
      'attempt 1: POST /v1/messages -> 529 (request id req_529)',
      'attempt 2: POST /v1/messages -> 529 (request id req_529)',
    ]);
  });

  it('connection refused: failure connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const lines: string[] = [];
    const outcome = await run('messages', { baseURL: `http://127.0.0.1:${deadPort}` }, { onLog: (line) => lines.push(line) });
    expect(outcome.failure?.kind).toBe('connection');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^attempt 1: POST \/v1\/messages -> connection failed \(.*ECONNREFUSED/);
  });

  it('abort mid-stream: failure aborted, partial text and input usage kept', async () => {
    handler = (_req, res) =>
      sse(res, [anthropicStart({ input_tokens: 11, output_tokens: 1 }), anthropicBlockStart, anthropicText('Once upon')], 'hang');
    const controller = new AbortController();
    const outcome = await run('messages', { stream: true, signal: controller.signal }, { onText: () => controller.abort() });
    expect(outcome).toMatchObject({
      text: ['Once upon'],
      usage: null,
      partialUsage: { input_tokens: 11 },
      failure: { kind: 'aborted' },
    });
  });
});

describe('providerFor', () => {
  it('returns a provider for every API flavour', async () => {
    for (const api of ['chat', 'completions', 'responses', 'messages'] as const) {
      expect(typeof (await providerFor(api)).call).toBe('function');
    }
  });
});
