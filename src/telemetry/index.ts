/**
 * Telemetry out, as the commands see it: one sink that every call's record goes through, or
 * null when nothing is configured, so a command with telemetry off pays one null check per
 * call and loads nothing. The OpenTelemetry SDK is imported here, lazily, only when the OTEL_*
 * variables configure an export.
 */
import { readFileSync } from 'node:fs';
import type { CallRecord } from '../record.js';
import type { CallContext, Server } from './attributes.js';
import { otlpConfigOf, type OtlpConfig } from './config.js';
import type { OtlpExport } from './otlp.js';

export interface CallSink {
  record(record: CallRecord, server: Server | null): void;
  /** Flushes and stops, within a bounded time; never throws. */
  close(): Promise<void>;
}

export interface TelemetryOptions {
  ctx: CallContext;
  env: NodeJS.ProcessEnv;
  /** One line for stderr (without the newline). */
  warn(line: string): void;
  longRunning?: boolean;
}

/** How long a command may wait at its end for the collector: a dead or slow one costs this, no more. */
export const CLOSE_TIMEOUT_MS = 2000;

/**
 * The OpenTelemetry sink, or null when OTEL_* configures no export. Checks the variables first:
 * a malformed one is a UsageError before any call is made. Records that arrive while the SDK
 * loads are kept and sent once it has.
 */
export function openTelemetry(o: TelemetryOptions): CallSink | null {
  const config = otlpConfigOf(o.env);
  return config ? new OtlpSink(config, o) : null;
}

class OtlpSink implements CallSink {
  private exporter: OtlpExport | null = null;
  private pending: [CallRecord, Server | null][] = [];
  private readonly loading: Promise<void>;
  private warned = false;

  constructor(config: OtlpConfig, private readonly o: TelemetryOptions) {
    this.loading = import('./otlp.js')
      .then(({ startOtlp }) =>
        startOtlp({ config, ctx: o.ctx, version: version(), longRunning: o.longRunning === true, onExportFailure: (what, why) => this.failed(what, why) }),
      )
      .then((exporter) => {
        this.exporter = exporter;
        for (const [r, s] of this.pending) exporter.record(r, s);
        this.pending = [];
      })
      .catch((e: unknown) => this.failed('telemetry', `could not start: ${(e as Error).message}`));
  }

  record(record: CallRecord, server: Server | null): void {
    if (this.exporter) this.exporter.record(record, server);
    else this.pending.push([record, server]);
  }

  private failed(what: string, why: string): void {
    if (this.warned) return;
    this.warned = true;
    this.o.warn(`llm-usage: warning: OpenTelemetry export of ${what} failed (${why}): not sent; the calls and their results are unaffected`);
  }

  async close(): Promise<void> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loading, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)))]);
    clearTimeout(timer);
    await this.exporter?.close(Math.max(0, CLOSE_TIMEOUT_MS - (Date.now() - started)));
  }
}

let pkgVersion: string | undefined;
function version(): string {
  pkgVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return pkgVersion;
}
