// A loopback OTLP/HTTP receiver for the tests: accepts what the OpenTelemetry exporters post to
// /v1/metrics and /v1/traces, in protobuf (decoded with the protobufjs code generated from the
// OTLP .proto files, as @opentelemetry/otlp-transformer shipped it) or in JSON, and keeps it in
// one plain shape so a test can check names, attributes, values and the resource.
import { createRequire } from 'node:module';
import http from 'node:http';

const require = createRequire(import.meta.url);
const root = require('otlp-transformer-protobufjs/build/src/generated/root.js');
const { collector } = root.opentelemetry.proto;
const TYPES = {
  '/v1/metrics': collector.metrics.v1.ExportMetricsServiceRequest,
  '/v1/traces': collector.trace.v1.ExportTraceServiceRequest,
};

/** An OTLP AnyValue as a plain value. Int64s arrive as strings (JSON, and toObject's longs: String). */
function valueOf(v) {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(valueOf);
  return null;
}

export function attributesOf(list = []) {
  return Object.fromEntries(list.map((a) => [a.key, valueOf(a.value ?? {})]));
}

const num = (x) => (x === undefined || x === null ? undefined : Number(x));

function pointsOf(metric) {
  const data = metric.histogram ?? metric.sum ?? metric.gauge ?? metric.exponentialHistogram;
  return (data?.dataPoints ?? []).map((p) => ({
    attributes: attributesOf(p.attributes),
    count: num(p.count),
    sum: num(p.sum),
    value: num(p.asInt ?? p.asDouble),
    bucketCounts: p.bucketCounts?.map(Number),
    explicitBounds: p.explicitBounds?.map(Number),
  }));
}

/** Starts the receiver on 127.0.0.1. `mode`: 'ok' answers 200; 'hang' reads the request and never answers. */
export async function startOtlpReceiver({ mode = 'ok' } = {}) {
  const requests = [];
  const metrics = [];
  const spans = [];
  const hung = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = String(req.headers['content-type'] ?? '');
      const type = TYPES[req.url];
      if (mode === 'hang') {
        hung.add(res);
        return;
      }
      if (!type) {
        res.writeHead(404).end();
        return;
      }
      const json = contentType.startsWith('application/json');
      const decoded = json ? JSON.parse(body.toString('utf8')) : type.toObject(type.decode(body), { longs: String, bytes: String, defaults: false });
      requests.push({ path: req.url, contentType, headers: req.headers, body, decoded });
      if (req.url === '/v1/metrics') {
        for (const rm of decoded.resourceMetrics ?? []) {
          for (const sm of rm.scopeMetrics ?? []) {
            for (const m of sm.metrics ?? []) {
              metrics.push({
                name: m.name,
                unit: m.unit,
                kind: m.histogram ? 'histogram' : m.sum ? 'sum' : 'other',
                temporality: (m.histogram ?? m.sum)?.aggregationTemporality,
                monotonic: m.sum?.isMonotonic,
                points: pointsOf(m),
                resource: attributesOf(rm.resource?.attributes),
                scope: { name: sm.scope?.name, version: sm.scope?.version, schemaUrl: sm.schemaUrl },
              });
            }
          }
        }
      } else {
        for (const rs of decoded.resourceSpans ?? []) {
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                name: s.name,
                kind: s.kind,
                status: s.status ?? {},
                attributes: attributesOf(s.attributes),
                startNs: BigInt(s.startTimeUnixNano),
                endNs: BigInt(s.endTimeUnixNano),
                resource: attributesOf(rs.resource?.attributes),
                scope: { name: ss.scope?.name, version: ss.scope?.version, schemaUrl: ss.schemaUrl },
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    metrics,
    spans,
    reset() {
      requests.length = 0;
      metrics.length = 0;
      spans.length = 0;
    },
    close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
