import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A recording tap in front of a fake: every response body, exactly as the fake sent it. */
export interface Tap {
  url: string;
  bodies: Buffer[];
  close(): Promise<void>;
}

/**
 * Starts a tap that relays every request to `upstream` (an http://127.0.0.1:PORT origin) with
 * its headers untouched, so a signature over Host stays the fake's. With `tunnel`, it also
 * answers CONNECT and relays what comes through the tunnel: an HTTPS_PROXY for clients that
 * go through one.
 */
export async function startTap(upstream: string, opts: { tunnel?: boolean } = {}): Promise<Tap> {
  const origin = new URL(upstream);
  const bodies: Buffer[] = [];
  const relay = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const target = new URL(req.url ?? '/', origin);
    const up = http.request({ host: origin.hostname, port: origin.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (response) => {
      res.writeHead(response.statusCode ?? 500, response.headers);
      const parts: Buffer[] = [];
      response.on('data', (c: Buffer) => {
        parts.push(c);
        res.write(c);
      });
      response.on('end', () => {
        bodies.push(Buffer.concat(parts));
        res.end();
      });
    });
    req.pipe(up);
  };
  const server = http.createServer(relay);
  const sockets = new Set<Socket>();
  if (opts.tunnel) {
    const tunnelled = http.createServer(relay);
    server.on('connect', (_req: http.IncomingMessage, socket: Socket, head: Buffer) => {
      sockets.add(socket);
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) socket.unshift(head);
      tunnelled.emit('connection', socket);
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
