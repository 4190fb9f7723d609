import { connect, createServer, type Socket } from "node:net";

export interface ThrottleProxy {
  url: string;
  /** Bytes forwarded upstream so far (all connections). */
  forwarded: () => number;
  close: () => Promise<void>;
}

/**
 * A loopback TCP proxy that forwards what clients send at most `bytesPerSecond` (answers pass
 * at full speed): a phone's uplink, slow enough that a restart lands in the middle of a request
 * body. Each client connection gets a fresh upstream one, so the upstream may restart between
 * connections; when the upstream goes away mid-request the client connection is cut too.
 * `onForward` sees the running total after each chunk goes upstream.
 */
export function startThrottleProxy(
  upstreamPort: number,
  bytesPerSecond: number,
  onForward?: (forwardedTotal: number) => void,
): Promise<ThrottleProxy> {
  let forwarded = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    // Token bucket: every chunk waits until the budget it needs has accrued.
    let availableAt = Date.now();
    client.on("data", (chunk: Buffer) => {
      const now = Date.now();
      const start = Math.max(now, availableAt);
      availableAt = start + (chunk.byteLength / bytesPerSecond) * 1000;
      const wait = availableAt - now;
      if (wait > 5) {
        client.pause();
        setTimeout(() => {
          if (!upstream.destroyed) {
            forwarded += chunk.byteLength;
            upstream.write(chunk);
            onForward?.(forwarded);
          }
          client.resume();
        }, wait);
      } else {
        forwarded += chunk.byteLength;
        upstream.write(chunk);
        onForward?.(forwarded);
      }
    });
    client.on("end", () => upstream.end());
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        forwarded: () => forwarded,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
