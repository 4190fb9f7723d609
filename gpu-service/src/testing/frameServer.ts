import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface FrameServer {
  base: string;
  /** Requests seen, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A loopback HTTP server for frame-fetch tests: `/frames/<file>` serves files from `dir`;
 * `/missing` is 404, `/slow` never answers, `/truncated` cuts its body short.
 */
export async function startFrameServer(dir: string): Promise<FrameServer> {
  const hits = new Map<string, number>();
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path.startsWith("/frames/")) {
      try {
        const body = await readFile(join(dir, path.slice("/frames/".length).replace(/[/\\]/g, "")));
        res
          .writeHead(200, { "content-length": body.length, "content-type": "image/jpeg" })
          .end(body);
      } catch {
        res.writeHead(404).end();
      }
    } else if (path === "/slow") {
      // never answers; the client must time out
    } else if (path === "/truncated") {
      res.writeHead(200, { "content-length": 10_000 });
      res.write(Buffer.alloc(100));
      setTimeout(() => res.destroy(), 20);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
