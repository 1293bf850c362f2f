/** The proxy's worker thread: requestFacts and recordCall for large calls (see calls.ts). */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { loadPriceTable } from '../pricing/table.js';
import { recordCall, requestFacts } from './calls.js';

// Counting is background work: this thread yields the CPU to the one relaying calls. On Linux a
// thread has its own nice value, set through its thread id (/proc/thread-self is task/TID).
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 19);
} catch {
  // Not Linux, or not allowed: it runs at the process's priority.
}

const table = loadPriceTable((workerData as { pricing?: string }).pricing);

parentPort?.postMessage({ ready: true });

parentPort?.on('message', (job: { id: number; op: 'facts' | 'record'; args: unknown[] }) => {
  // The request's facts go back with the request itself, moved back as it came.
  const work =
    job.op === 'facts'
      ? requestFacts(...(job.args as Parameters<typeof requestFacts>)).then((facts) => {
          const raw = job.args[0] as Uint8Array;
          return { result: { facts, raw }, moved: [raw.buffer as ArrayBuffer, ...(facts.injected ? [facts.injected.buffer as ArrayBuffer] : [])] };
        })
      : Promise.resolve(recordCall(job.args[0] as Parameters<typeof recordCall>[0], table)).then((result) => ({ result, moved: [] }));
  work.then(
    ({ result, moved }) => parentPort?.postMessage({ id: job.id, result }, moved),
    (error: Error) => parentPort?.postMessage({ id: job.id, error: error.message }),
  );
});
