import { connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  url: string;
  close: () => Promise<void>;
}

/**
 * A loopback TCP proxy: each client connection gets its own upstream one, answers flow back
 * untouched, and either side closing closes the other. `forward` decides how the client's bytes
 * go upstream (throttled, cut, …).
 */
export function startTcpProxy(
  upstreamPort: number,
  forward: (client: Socket, upstream: Socket) => void,
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    forward(client, upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
