import { defaultOptions } from "tus-js-client";
import type { FrameBody } from "../types.ts";

/**
 * tus-js-client reads its input through a platform `fileReader` (Node: Buffer or stream only;
 * browsers: Blob or reader only). This one takes a Uint8Array or a Blob on every platform and
 * hands each slice over in the form the platform's HTTP stack sends: Blobs as they are to
 * XMLHttpRequest (browsers, React Native), bytes to Node's http (with the `size` it reads
 * Content-Length from).
 */
const nodeHttpStack = defaultOptions.httpStack.getName() === "NodeHttpStack";

interface SliceResult {
  value: unknown;
  done: boolean;
}

class FrameSource {
  readonly size: number;

  constructor(private readonly body: FrameBody) {
    this.size = body instanceof Uint8Array ? body.byteLength : body.size;
  }

  async slice(start: number, end: number): Promise<SliceResult> {
    const stop = Math.min(end, this.size);
    const done = stop >= this.size;
    if (this.body instanceof Uint8Array)
      return { value: sized(this.body.subarray(start, stop)), done };
    const part = this.body.slice(start, stop);
    if (!nodeHttpStack) return { value: part, done };
    return { value: sized(new Uint8Array(await part.arrayBuffer())), done };
  }

  close(): void {}
}

function sized(bytes: Uint8Array): Uint8Array & { size: number } {
  return Object.assign(bytes, { size: bytes.byteLength });
}

export const frameReader = {
  openFile: async (input: FrameBody) => new FrameSource(input),
};

export const frameBytes = (body: FrameBody): number =>
  body instanceof Uint8Array ? body.byteLength : body.size;
