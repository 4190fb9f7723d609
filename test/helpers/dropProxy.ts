import { connect, createServer, type Socket } from "node:net";

export interface DropProxy {
  url: string;
  /** Connections cut so far. */
  drops: () => number;
  close: () => Promise<void>;
}

/**
 * A loopback TCP proxy that cuts one client connection, once `dropAfterBytes` bytes of it have
 * gone upstream: a phone losing its network mid-upload. Later connections pass untouched.
 */
export function startDropProxy(upstreamPort: number, dropAfterBytes: number): Promise<DropProxy> {
  let drops = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    let forwarded = 0;
    client.on("data", (chunk: Buffer) => {
      if (drops === 0 && forwarded + chunk.byteLength > dropAfterBytes) {
        drops++;
        upstream.write(chunk.subarray(0, dropAfterBytes - forwarded), () => {
          upstream.destroy();
          client.destroy();
        });
        return;
      }
      forwarded += chunk.byteLength;
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        drops: () => drops,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
