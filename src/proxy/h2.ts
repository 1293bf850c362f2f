/**
 * HTTP/2 in cleartext (h2c, "prior knowledge") beside HTTP/1.1 on the proxy's one port. The AWS
 * SDK for JavaScript v3 talks HTTP/2 by default, even to an http:// endpoint; boto3, curl and
 * the other SDKs talk HTTP/1.1. A connection is told apart by its first bytes: HTTP/2's
 * connection preface (RFC 9113 §3.4) goes to node:http2, anything else to node:http. The
 * libraries do all the framing; this module only peeks, hands the socket on, and keeps track.
 */
import type http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { ProxyLimits } from './limits.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface H2c {
  /** Graceful: every session finishes the streams it has, takes no new ones, and closes. */
  close(): void;
  /** Every session and undecided connection, now. */
  destroy(): void;
}

/**
 * node:http2's compatibility response, with what the proxy reads of node:http's: `destroyed`, and
 * a status message, which HTTP/2 has none of, dropped rather than warned about on stderr.
 */
class Http1ShapedResponse extends http2.Http2ServerResponse {
  override writeHead(status: number, message?: unknown, headers?: unknown): this {
    const rest = typeof message === 'string' || message === undefined ? headers : message;
    return super.writeHead(status, rest as http.OutgoingHttpHeaders);
  }
}
// Typed as a property, but node:http2 (Node 20) has none: the stream's.
Object.defineProperty(Http1ShapedResponse.prototype, 'destroyed', {
  get(this: Http1ShapedResponse) {
    return this.stream.destroyed;
  },
});

/**
 * Makes `server` (node:http, not yet listening) also serve h2c: its connections are peeked at
 * before node:http sees them. HTTP/2 requests reach `onRequest` through node:http2's
 * compatibility API, which has the same shape as node:http's for what the proxy uses.
 */
export function serveH2c(server: http.Server, onRequest: RequestListener, limits: ProxyLimits): H2c {
  // node:http's own connection listener, which an injected connection must reach (as
  // `server.emit('connection', socket)` would, its documented way of injecting one).
  const http1 = server.listeners('connection')[0] as (socket: Socket) => void;
  server.removeListener('connection', http1);
  const h2 = http2.createServer({ Http2ServerResponse: Http1ShapedResponse });
  h2.on('request', onRequest as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sessions = new Set<http2.ServerHttp2Session>();
  const undecided = new Set<Socket>();
  const streams = new WeakMap<http2.ServerHttp2Session, number>();

  h2.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    streams.set(session, 0);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      streams.set(session, (streams.get(session) ?? 0) + 1);
      // As node:http's requestTimeout: a client has this long to send its whole request.
      const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), limits.requestTimeoutMs).unref();
      stream.once('end', () => clearTimeout(timer));
      stream.once('close', () => {
        clearTimeout(timer);
        streams.set(session, (streams.get(session) ?? 1) - 1);
      });
    });
  });
  // An idle session closes after the keep-alive timeout; one with streams under way stays.
  h2.setTimeout(limits.keepAliveTimeoutMs);
  h2.on('timeout', (session: http2.ServerHttp2Session) => {
    if (!streams.get(session)) session.close();
  });

  server.on('connection', (socket: Socket) => {
    undecided.add(socket);
    let seen: Buffer | null = null;
    const decided = (isH2: boolean) => {
      undecided.delete(socket);
      socket.off('data', onData).off('error', onError).setTimeout(0);
      socket.pause();
      socket.unshift(seen as Buffer);
      if (isH2) {
        // node:http2 reads the buffered bytes, then the socket's handle, itself.
        h2.emit('connection', socket);
      } else {
        http1.call(server, socket);
        socket.resume();
      }
    };
    const onData = (chunk: Buffer) => {
      seen = seen ? Buffer.concat([seen, chunk]) : chunk;
      const n = Math.min(seen.length, PREFACE.length);
      const isH2 = seen.compare(PREFACE, 0, n, 0, n) === 0;
      if (!isH2 || n === PREFACE.length) decided(isH2);
    };
    const onError = () => socket.destroy();
    socket.on('data', onData).on('error', onError);
    socket.once('close', () => undecided.delete(socket));
    // Until it has said which protocol, a connection has the time node:http gives for headers.
    socket.setTimeout(limits.headersTimeoutMs, () => socket.destroy());
  });

  return {
    close() {
      for (const session of sessions) session.close();
      for (const socket of undecided) socket.destroy();
    },
    destroy() {
      for (const session of sessions) session.destroy();
      for (const socket of undecided) socket.destroy();
    },
  };
}
