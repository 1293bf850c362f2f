/** The proxy's worker thread: requestFacts and recordCall for large calls (see calls.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPriceTable } from '../pricing/table.js';
import { recordCall, requestFacts } from './calls.js';

const table = loadPriceTable((workerData as { pricing?: string }).pricing);

parentPort?.on('message', (job: { id: number; op: 'facts' | 'record'; args: unknown[] }) => {
  const work = job.op === 'facts' ? requestFacts(...(job.args as Parameters<typeof requestFacts>)) : recordCall(job.args[0] as Parameters<typeof recordCall>[0], table);
  work.then(
    (result) => parentPort?.postMessage({ id: job.id, result }),
    (error: Error) => parentPort?.postMessage({ id: job.id, error: error.message }),
  );
});
