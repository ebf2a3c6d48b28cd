/**
 * A TCP proxy on a free loopback port in front of the test PostgreSQL server, for faults that need
 * a cut connection at an exact point. Armed with `cutAfterCommit()`, the next `COMMIT` a client
 * sends is forwarded to the server; the server's answer (after it has committed) is held back and
 * both sides of that connection are destroyed, so the client sees the connection drop although the
 * transaction committed — the one case in which no client can know whether its write happened.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export interface TcpProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url: string;
  /** Cuts the next connection that sends `COMMIT`, after the server has answered it. */
  cutAfterCommit(): Promise<void>;
  close(): Promise<void>;
}

/** The simple-query `COMMIT` message of the PostgreSQL protocol (`Q`, length, text, NUL), any case. */
function isCommit(chunk: Buffer): boolean {
  return chunk[0] === 0x51 && /^commit\s*;?\s*\0$/i.test(chunk.subarray(5).toString('latin1'));
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let armed: (() => void) | null = null;
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    let cutting = false;
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroy);
    upstream.on('error', destroy);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      if (armed && isCommit(chunk)) {
        const done = armed;
        armed = null;
        cutting = true;
        upstream.write(chunk);
        // The server answers once the commit is durable; drop that answer and the connection.
        upstream.once('data', () => {
          destroy();
          done();
        });
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cutting) client.write(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    cutAfterCommit: () =>
      new Promise<void>((resolve) => {
        armed = resolve;
      }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
