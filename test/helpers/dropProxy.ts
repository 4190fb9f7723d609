import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts";

export interface DropProxy extends TcpProxy {
  /** Connections cut so far. */
  drops: () => number;
}

/**
 * A loopback TCP proxy that cuts one client connection, once `dropAfterBytes` bytes of it have
 * gone upstream: a phone losing its network mid-upload. Later connections pass untouched.
 */
export async function startDropProxy(
  upstreamPort: number,
  dropAfterBytes: number,
): Promise<DropProxy> {
  let drops = 0;
  const proxy = await startTcpProxy(upstreamPort, (client, upstream) => {
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
  });
  return { ...proxy, drops: () => drops };
}
