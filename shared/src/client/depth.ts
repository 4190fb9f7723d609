const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Raw little-endian float32 (the API's `f32` format) as a Float32Array, on any host. */
export function decodeFloat32LE(buffer: ArrayBuffer): Float32Array {
  if (buffer.byteLength % 4 !== 0)
    throw new RangeError(`f32 depth of ${buffer.byteLength} bytes is not a whole number of floats`);
  if (littleEndianHost) return new Float32Array(buffer);
  const view = new DataView(buffer);
  const out = new Float32Array(buffer.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
