import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts";

export interface ThrottleProxy extends TcpProxy {
  /** Bytes forwarded upstream so far (all connections). */
  forwarded: () => number;
}

/**
 * A loopback TCP proxy that forwards what clients send at most `bytesPerSecond` (answers pass
 * at full speed): a phone's uplink, slow enough that a restart lands in the middle of a request
 * body. Each client connection gets a fresh upstream one, so the upstream may restart between
 * connections; when the upstream goes away mid-request the client connection is cut too.
 * `onForward` sees the running total after each chunk goes upstream. `shared`: one budget for
 * all connections together (a phone's one uplink, however many uploads run at once) rather
 * than one per connection.
 */
export async function startThrottleProxy(
  upstreamPort: number,
  bytesPerSecond: number,
  onForward?: (forwardedTotal: number) => void,
  opts: { shared?: boolean } = {},
): Promise<ThrottleProxy> {
  let forwarded = 0;
  // Token bucket: every chunk waits until the budget it needs has accrued.
  const proxyBucket = { availableAt: Date.now() };
  const proxy = await startTcpProxy(upstreamPort, (client, upstream) => {
    const bucket = opts.shared ? proxyBucket : { availableAt: Date.now() };
    client.on("data", (chunk: Buffer) => {
      const now = Date.now();
      const start = Math.max(now, bucket.availableAt);
      bucket.availableAt = start + (chunk.byteLength / bytesPerSecond) * 1000;
      const wait = bucket.availableAt - now;
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
  });
  return { ...proxy, forwarded: () => forwarded };
}
