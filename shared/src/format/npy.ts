/**
 * NumPy .npy (format 1.0) of a little-endian float32 array: what Python tooling reads with
 * np.load, no pickle.
 */
export function encodeNpyFloat32(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new RangeError(`shape ${shape.join("×")} does not hold ${data.length} values`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = `${header.padEnd(total - 10 - 1, " ")}\n`;
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, total);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}

/** Reads back what `encodeNpyFloat32` writes (and any little-endian f4 C-order .npy). */
export function decodeNpyFloat32(bytes: Uint8Array): { data: Float32Array; shape: number[] } {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY")
    throw new Error("not a .npy file");
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = String.fromCharCode(...bytes.subarray(start, start + hlen));
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True"))
    throw new Error("only little-endian C-order float32 .npy is supported");
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]!
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const off = start + hlen;
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = dv.getFloat32(off + 4 * i, true);
  return { data, shape };
}
