/**
 * The two pieces of a metered call's work that grow with its size: reading the request (model,
 * stream, output bound, the usage rewrite, the prompt's tokens for the budget) and making the
 * record once it has ended (parsing a whole body, counting an estimate). Each is one function
 * over plain data, run inline for small calls and on a worker thread for large ones
 * (`Offload`), so a 20 MB prompt never holds up the calls beside it.
 */
import { Worker } from 'node:worker_threads';
import type { PriceTable } from '../pricing/types.js';
import type { CallOutcome, ProviderName } from '../providers/types.js';
import { recordOf, sentTokens, type CallRecord, type RecordApi } from '../record.js';
import { bodyOutcome, requestHead, sentText, type BodyEnd } from './meter.js';
import { withIncludeUsage } from './rewrite.js';

/** What the proxy needs of a request before sending it. */
export interface RequestFacts {
  model: string;
  stream: boolean;
  /** The output tokens the request allows, all choices together; null when it sets no bound. */
  maxOutput: number | null;
  /** The request with usage asked for (an OpenAI stream that did not ask), else null. */
  injected: Uint8Array | null;
  /** The prompt's tokens (for the budget), when asked for. */
  promptTokens: number | null;
}

/** A call that has ended, as its record needs it. */
export interface EndedCall {
  provider: ProviderName;
  api: RecordApi;
  model: string;
  stream: boolean;
  durationMs: number;
  /** The request's bytes: read again only for an estimate. */
  request: Uint8Array;
  /** A stream's outcome, or a whole body still to be read. */
  response: { outcome: CallOutcome } | { status: number; body: Uint8Array; end: BodyEnd; requestId?: string };
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function jsonOf(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(bufferOf(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function whole(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** The output bound a request sets, per API, times its choices; null when it sets none. */
export function maxOutputOf(api: RecordApi, body: unknown): number | null {
  if (!isObject(body)) return null;
  const choices = Math.max(whole(body['n']) ?? 1, api === 'completions' ? (whole(body['best_of']) ?? 1) : 1);
  switch (api) {
    case 'embeddings':
      return 0;
    case 'messages':
      return whole(body['max_tokens']);
    case 'responses':
      return whole(body['max_output_tokens']);
    case 'completions': {
      // Legacy completions default to 16 tokens.
      const max = body['max_tokens'] === undefined ? 16 : whole(body['max_tokens']);
      return max === null ? null : max * choices;
    }
    case 'chat': {
      const max = whole(body['max_completion_tokens']) ?? whole(body['max_tokens']);
      return max === null ? null : max * choices;
    }
  }
}

export async function requestFacts(raw: Uint8Array, api: RecordApi, provider: ProviderName, countPrompt: boolean): Promise<RequestFacts> {
  const body = jsonOf(raw);
  const { model, stream } = requestHead(body);
  const injected = (api === 'chat' || api === 'completions') && isObject(body) ? withIncludeUsage(bufferOf(raw), body) : null;
  const promptTokens = countPrompt ? await sentTokens({ api, provider, prompt: '', sent: sentText(api, body) }, model) : null;
  return { model, stream, maxOutput: maxOutputOf(api, body), injected, promptTokens };
}

/** The record of an ended call, keeping no request or response text. */
export async function recordCall(call: EndedCall, table: PriceTable): Promise<CallRecord> {
  const r = call.response;
  const outcome = 'outcome' in r ? r.outcome : bodyOutcome(call.api, r.status, bufferOf(r.body).toString('utf8'), r.end);
  if (!('outcome' in r) && r.requestId) outcome.requestId = r.requestId;
  const spec = {
    provider: call.provider,
    api: call.api,
    model: call.model || 'unknown',
    prompt: '',
    stream: call.stream,
    streamUsage: false,
    apiKey: '',
    proxied: true,
    // The request's text matters only for an estimate: read it only then.
    ...(outcome.usage ? {} : { sent: sentText(call.api, jsonOf(call.request)) }),
  };
  const { choices: _texts, ...record } = await recordOf(spec, outcome, call.durationMs, table);
  return { ...record, text: '' };
}

/** Requests and calls smaller than this are handled inline: a worker's round trip costs more. */
const INLINE_BYTES = 64 * 1024;

function sizeOf(call: EndedCall): number {
  const r = call.response;
  const reply = 'outcome' in r ? r.outcome.text.reduce((n, t) => n + t.length, 0) : r.body.byteLength;
  return call.request.byteLength + reply;
}

type Job = { op: 'facts'; args: Parameters<typeof requestFacts> } | { op: 'record'; args: [EndedCall] };

/** What a worker job moves to the worker, rather than copying: large bodies the caller owns whole. */
function moved(job: Job): ArrayBuffer[] {
  const bytes = job.op === 'facts' ? [job.args[0]] : [job.args[0].request, ...('body' in job.args[0].response ? [job.args[0].response.body] : [])];
  return bytes.filter((b) => b.buffer instanceof ArrayBuffer && b.byteLength >= INLINE_BYTES).map((b) => b.buffer as ArrayBuffer);
}

/**
 * Runs requestFacts and recordCall inline when small, else on one worker thread, started on
 * first need and never keeping the process alive. Large bodies are moved to the worker, not
 * copied (copying 20 MB holds up the event loop for tens of milliseconds), and a request comes
 * back with its facts: it is still to be sent. The caller must own such a body's whole memory
 * (`Buffer.allocUnsafeSlow`). A worker that fails leaves its work to be done inline.
 */
export class Offload {
  private worker: Worker | null = null;
  private next = 0;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(
    private readonly table: PriceTable,
    /** The --pricing file, for the worker to load the same table. */
    private readonly pricing: string | undefined,
  ) {}

  /** The request's facts, and the request itself (moved back, when it went to the worker). */
  async facts(raw: Buffer, api: RecordApi, provider: ProviderName, countPrompt: boolean): Promise<{ facts: RequestFacts; raw: Buffer }> {
    if (raw.length < INLINE_BYTES) return { facts: await requestFacts(raw, api, provider, countPrompt), raw };
    const back = (await this.run({ op: 'facts', args: [raw, api, provider, countPrompt] })) as { facts: RequestFacts; raw: Uint8Array };
    return { facts: back.facts, raw: bufferOf(back.raw) };
  }

  record(call: EndedCall): Promise<CallRecord> {
    if (sizeOf(call) < INLINE_BYTES) return recordCall(call, this.table);
    return this.run({ op: 'record', args: [call] }) as Promise<CallRecord>;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }

  private async run(job: Job): Promise<unknown> {
    try {
      const worker = this.started();
      const id = this.next++;
      return await new Promise((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        worker.postMessage({ id, ...job }, moved(job));
      });
    } catch {
      // What was moved is gone with the worker: a request's facts cannot be had, a record is
      // made of what is left (its estimate then counts no prompt).
      if (job.op === 'facts') throw new Error('the worker thread failed');
      return recordCall(job.args[0], this.table);
    }
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { pricing: this.pricing } });
    worker.unref();
    worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const waiting = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) waiting?.reject(new Error(m.error));
      else waiting?.resolve(m.result);
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the worker exited')));
    this.worker = worker;
    return worker;
  }
}
