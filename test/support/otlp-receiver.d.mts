// Types for ./otlp-receiver.mjs: a loopback OTLP/HTTP receiver that decodes protobuf and JSON.

export type Attrs = Record<string, string | number | boolean | null | unknown[]>;

export interface ReceivedPoint {
  attributes: Attrs;
  count?: number;
  sum?: number;
  value?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
}

export interface ReceivedMetric {
  name: string;
  unit: string;
  kind: 'histogram' | 'sum' | 'other';
  /** 1 delta, 2 cumulative (AggregationTemporality). */
  temporality?: number | string;
  monotonic?: boolean;
  points: ReceivedPoint[];
  resource: Attrs;
  scope: { name?: string; version?: string; schemaUrl?: string };
}

export interface ReceivedSpan {
  name: string;
  kind: number | string;
  status: { code?: number | string; message?: string };
  attributes: Attrs;
  startNs: bigint;
  endNs: bigint;
  resource: Attrs;
  scope: { name?: string; version?: string; schemaUrl?: string };
}

export interface OtlpReceiver {
  readonly url: string;
  readonly port: number;
  readonly requests: { path: string; contentType: string; headers: Record<string, string | string[] | undefined>; body: Buffer; decoded: any }[];
  readonly metrics: ReceivedMetric[];
  readonly spans: ReceivedSpan[];
  reset(): void;
  close(): Promise<void>;
}

export function attributesOf(list?: { key: string; value?: unknown }[]): Attrs;
export function startOtlpReceiver(opts?: { mode?: 'ok' | 'hang' }): Promise<OtlpReceiver>;
