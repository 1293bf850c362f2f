#!/usr/bin/env node
// A program that calls LLM APIs with plain node:http (no SDK), the way `llm-usage exec` finds
// programs: base URLs and keys from the environment. It writes every response it received,
// status, content type and the body's exact bytes, to OUT_FILE as JSON, then exits with
// CLIENT_EXIT (default 0).
//   node plain-http.mjs OUT_FILE [CALL ...]
// Calls: chat, chat-stream, chat-stream-usage, completion, completion-stream, messages,
// messages-stream, responses, responses-stream, embeddings, models. Default: chat chat-stream
// messages-stream completion.
import http from 'node:http';
import { writeFileSync } from 'node:fs';

const [outFile, ...names] = process.argv.slice(2);
const calls = names.length ? names : ['chat', 'chat-stream', 'messages-stream', 'completion'];
const openai = process.env.OPENAI_BASE_URL;
const anthropic = process.env.ANTHROPIC_BASE_URL;
const openaiHeaders = { authorization: `Bearer ${process.env.OPENAI_API_KEY}`, 'content-type': 'application/json' };
const anthropicHeaders = { 'x-api-key': process.env.ANTHROPIC_API_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Tell me a joke' }];

const PLANS = {
  chat: () => ['POST', `${openai}/chat/completions`, openaiHeaders, { model: 'gpt-3.5-turbo-0125', messages }],
  'chat-stream': () => ['POST', `${openai}/chat/completions`, openaiHeaders, { model: 'gpt-4o-mini', messages, stream: true }],
  'chat-stream-usage': () => ['POST', `${openai}/chat/completions`, openaiHeaders, { model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } }],
  completion: () => ['POST', `${openai}/completions`, openaiHeaders, { model: 'gpt-3.5-turbo-instruct', prompt: 'Tell me a joke' }],
  'completion-stream': () => ['POST', `${openai}/completions`, openaiHeaders, { model: 'gpt-3.5-turbo-instruct', prompt: 'Tell me a joke', stream: true }],
  messages: () => ['POST', `${anthropic}/v1/messages`, anthropicHeaders, { model: 'claude-3-5-haiku-20241022', max_tokens: 100, messages: [{ role: 'user', content: 'Tell me a joke' }] }],
  'messages-stream': () => ['POST', `${anthropic}/v1/messages`, anthropicHeaders, { model: 'claude-3-5-haiku-20241022', max_tokens: 100, stream: true, system: 'Be brief.', messages: [{ role: 'user', content: 'Tell me a joke' }] }],
  responses: () => ['POST', `${openai}/responses`, openaiHeaders, { model: 'gpt-4o-mini', input: 'Tell me a joke' }],
  'responses-stream': () => ['POST', `${openai}/responses`, openaiHeaders, { model: 'gpt-4o-mini', input: 'Tell me a joke', stream: true }],
  embeddings: () => ['POST', `${openai}/embeddings`, openaiHeaders, { model: 'text-embedding-3-small', input: ['one', 'two'] }],
  models: () => ['GET', `${openai}/models`, openaiHeaders, null],
};

function send(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode, contentType: res.headers['content-type'] ?? null, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === null ? undefined : JSON.stringify(body));
  });
}

const received = [];
for (const name of calls) {
  const plan = PLANS[name];
  if (!plan) throw new Error(`unknown call ${name}`);
  const r = await send(...plan());
  received.push({ name, status: r.status, contentType: r.contentType, body: r.body.toString('base64') });
}
writeFileSync(outFile, JSON.stringify(received));
process.stdout.write(`plain-http: ${received.length} call${received.length === 1 ? "" : "s"}\n`);
process.exitCode = Number(process.env.CLIENT_EXIT ?? 0);
