/**
 * The two pieces of a metered call's work that grow with its size: reading the request (model,
 * stream, output bound, the usage rewrite, the prompt's tokens for the budget) and making the
 * record once it has ended (parsing a whole body, counting an estimate). Each is one function
 * over plain data, run inline for small calls and on a worker thread for large ones
 * (`Offload`), so a 20 MB prompt never holds up the calls beside it.
 */
import { Worker } from 'node:worker_threads';
import type { PriceTable } from '../pricing/types.js';
import { streamsUsageUnasked } from '../providers/compat.js';
import type { CallOutcome, ProviderName } from '../providers/types.js';
import { recordNow, recordOf, sentTokens, type CallRecord, type RecordApi } from '../record.js';
import { bedrockBodyOutcome } from '../wire/bedrock.js';
import { bodyOutcome, maxOutputOf, requestHead, sentText, type BodyEnd } from '../wire/index.js';
import { object } from '../wire/read.js';
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
  /** The key the request carried: taken out of a failure's message before it is cut short (never recorded). */
  key?: string;
  /**
   * A stream's outcome, or a whole body still to be read: Bedrock's with its operation and
   * headers (InvokeModel of models other than Claude reports usage in its headers).
   */
  response: { outcome: CallOutcome } | { status: number; body: Uint8Array; end: BodyEnd; requestId?: string; bedrock?: { operation: 'invoke' | 'converse'; headers: Record<string, string | string[] | undefined> } };
}

/** A Buffer over the same memory (a Uint8Array back from the worker thread is no Buffer). */
export function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function jsonOf(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(bufferOf(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A request's facts but the prompt's tokens (null), and its parsed body. */
function factsOf(raw: Uint8Array, api: RecordApi, provider: ProviderName): { facts: RequestFacts; body: unknown } {
  const body = jsonOf(raw);
  const { model, stream } = requestHead(body);
  const json = object(body);
  // A provider whose streams carry usage unasked gets the program's request as it sent it.
  const injected = (api === 'chat' || api === 'completions') && json && !streamsUsageUnasked(provider) ? withIncludeUsage(bufferOf(raw), json) : null;
  return { facts: { model, stream, maxOutput: maxOutputOf(api, body), injected, promptTokens: null }, body };
}

export async function requestFacts(raw: Uint8Array, api: RecordApi, provider: ProviderName, countPrompt: boolean): Promise<RequestFacts> {
  const { facts, body } = factsOf(raw, api, provider);
  if (countPrompt) facts.promptTokens = (await sentTokens({ api, provider, prompt: '', sent: sentText(api, body) }, facts.model)).tokens;
  return facts;
}

/**
 * The record of an ended call, keeping no request or response text: at once when its usage
 * needs no counting (nearly every call: see recordNow), else once counted.
 */
export function recordCall(call: EndedCall, table: PriceTable): CallRecord | Promise<CallRecord> {
  const r = call.response;
  const outcome = 'outcome' in r ? r.outcome : r.bedrock ? bedrockBodyOutcome(r.bedrock.operation, r.status, r.bedrock.headers, r.body, r.end) : bodyOutcome(call.api, r.status, bufferOf(r.body).toString('utf8'), r.end);
  if (!('outcome' in r) && r.requestId) outcome.requestId = r.requestId;
  const spec = {
    provider: call.provider,
    api: call.api,
    model: call.model || 'unknown',
    prompt: '',
    stream: call.stream,
    streamUsage: false,
    apiKey: call.key ?? '',
    proxied: true,
    // The request's text matters only for an estimate: read it only then.
    ...(outcome.usage ? {} : { sent: sentText(call.api, jsonOf(call.request)) }),
  };
  const record = recordNow(spec, outcome, call.durationMs, table);
  return record ? textless(record) : recordOf(spec, outcome, call.durationMs, table).then(textless);
}

/** No text leaves the proxy (and no copies of a record are made: a proxy under load makes many). */
function textless(record: CallRecord): CallRecord {
  delete record.choices;
  record.text = '';
  return record;
}

/** Requests and calls smaller than this are handled inline: a worker's round trip costs more. */
export const INLINE_BYTES = 64 * 1024;

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
 * (`Buffer.allocUnsafeSlow`). Where the worker cannot start (run from the TypeScript sources,
 * as the unit tests do), everything is done inline.
 */
export class Offload {
  /** The worker once it has said it is ready; null when it could not start (all work is then inline). */
  private worker: Promise<Worker | null> | null = null;
  private next = 0;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(
    private readonly table: PriceTable,
    /** The --pricing file, for the worker to load the same table. */
    private readonly pricing: string | undefined,
  ) {}

  /**
   * The request's facts at once, when it is small and its prompt need not be counted (no
   * --max-cost); else null, and `facts` gives them. A proxy handles thousands of calls a second:
   * each promise it does not make is work it does not do.
   */
  factsNow(raw: Buffer, api: RecordApi, provider: ProviderName, countPrompt: boolean): { facts: RequestFacts; raw: Buffer } | null {
    return raw.length < INLINE_BYTES && !countPrompt ? { facts: factsOf(raw, api, provider).facts, raw } : null;
  }

  /** The request's facts, and the request itself (moved back, when it went to the worker). */
  facts(raw: Buffer, api: RecordApi, provider: ProviderName, countPrompt: boolean): Promise<{ facts: RequestFacts; raw: Buffer }> {
    const inline = () => requestFacts(raw, api, provider, countPrompt).then((facts) => ({ facts, raw }));
    if (raw.length < INLINE_BYTES) return inline();
    return this.run({ op: 'facts', args: [raw, api, provider, countPrompt] }).then((back) => {
      const b = back as { facts: RequestFacts; raw: Uint8Array } | null;
      return b ? { facts: b.facts, raw: bufferOf(b.raw) } : inline();
    });
  }

  /** The call's record: at once for a small call that needs no estimate (recordCall), else a promise. */
  record(call: EndedCall): CallRecord | Promise<CallRecord> {
    if (sizeOf(call) < INLINE_BYTES) return recordCall(call, this.table);
    // A worker that died with the call's bodies leaves a record of what is known (nothing lost).
    return this.run({ op: 'record', args: [call] })
      .catch(() => null)
      .then((record) => (record as CallRecord | null) ?? recordCall(call, this.table));
  }

  async close(): Promise<void> {
    const worker = await this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  /** The job's result from the worker, or null when there is no worker to do it. */
  private async run(job: Job): Promise<unknown> {
    const worker = await (this.worker ??= this.start());
    if (!worker) return null;
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, ...job }, moved(job));
    });
  }

  /** Starts the worker; resolves once it is ready, or with null when it cannot start. */
  private start(): Promise<Worker | null> {
    return new Promise((resolve) => {
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { pricing: this.pricing } });
      worker.unref();
      let ready = false;
      worker.on('message', (m: { id?: number; ready?: true; result?: unknown; error?: string }) => {
        if (m.ready) {
          ready = true;
          resolve(worker);
          return;
        }
        const waiting = this.waiting.get(m.id as number);
        this.waiting.delete(m.id as number);
        if (m.error !== undefined) waiting?.reject(new Error(m.error));
        else waiting?.resolve(m.result);
      });
      // What was moved is gone with a worker that dies: those calls fail, the next get a new worker.
      const fail = (error: Error) => {
        if (!ready) resolve(null);
        else this.worker = null;
        for (const w of this.waiting.values()) w.reject(error);
        this.waiting.clear();
      };
      worker.on('error', fail);
      worker.on('exit', () => fail(new Error('the worker thread exited')));
    });
  }
}
