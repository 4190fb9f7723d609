import { describe, expect, it } from "vitest";
import { decodeNpyFloat32, encodeNpyFloat32 } from "./npy.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function headerOf(bytes: Uint8Array): { hlen: number; text: string } {
  const hlen = bytes[8]! | (bytes[9]! << 8);
  return { hlen, text: String.fromCharCode(...bytes.subarray(10, 10 + hlen)) };
}

describe("encodeNpyFloat32", () => {
  it("writes the magic, version 1.0 and a 64-byte aligned header", () => {
    for (const shape of [[5], [3, 4], [2, 3, 4], [1, 1], [7, 1, 13]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = encodeNpyFloat32(new Float32Array(n), shape);
      expect(Array.from(bytes.subarray(0, 6))).toEqual(MAGIC);
      expect(bytes[6]).toBe(1);
      expect(bytes[7]).toBe(0);
      const { hlen, text } = headerOf(bytes);
      expect((10 + hlen) % 64).toBe(0);
      expect(text.endsWith("\n")).toBe(true);
      expect(bytes.length).toBe(10 + hlen + 4 * n);
      expect(text).toContain("'descr': '<f4'");
      expect(text).toContain("'fortran_order': False");
    }
  });

  it("writes the shape as a Python tuple", () => {
    expect(headerOf(encodeNpyFloat32(new Float32Array(5), [5])).text).toContain("'shape': (5,)");
    expect(headerOf(encodeNpyFloat32(new Float32Array(12), [3, 4])).text).toContain(
      "'shape': (3, 4)",
    );
  });

  it("writes little-endian float32 data after the header", () => {
    const bytes = encodeNpyFloat32(Float32Array.of(1, -2), [2]);
    const off = bytes.length - 8;
    expect(Array.from(bytes.subarray(off))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  });

  it("rejects a shape that does not match the data", () => {
    expect(() => encodeNpyFloat32(new Float32Array(5), [2, 3])).toThrow(RangeError);
  });
});

describe("decodeNpyFloat32", () => {
  it("round-trips values and shapes", () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => (i - 7) * 0.37);
    data[3] = Number.NaN;
    data[4] = Number.POSITIVE_INFINITY;
    data[5] = -0;
    data[6] = 3.4e38;
    for (const shape of [[24], [4, 6], [2, 3, 4]]) {
      const back = decodeNpyFloat32(encodeNpyFloat32(data, shape));
      expect(back.shape).toEqual(shape);
      expect(back.data).toEqual(data);
      expect(Object.is(back.data[5], -0)).toBe(true);
    }
  });

  it("reads from a view that does not start at the buffer's beginning", () => {
    const enc = encodeNpyFloat32(Float32Array.of(1.5, 2.5, 3.5), [3]);
    const big = new Uint8Array(enc.length + 7);
    big.set(enc, 3);
    const back = decodeNpyFloat32(big.subarray(3, 3 + enc.length));
    expect(Array.from(back.data)).toEqual([1.5, 2.5, 3.5]);
    expect(back.shape).toEqual([3]);
  });

  it("reads a version 2.0 file (4-byte header length)", () => {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }";
    const total = Math.ceil((12 + header.length + 1) / 64) * 64;
    header = `${header.padEnd(total - 12 - 1, " ")}\n`;
    const bytes = new Uint8Array(total + 8);
    bytes.set([...MAGIC, 2, 0], 0);
    new DataView(bytes.buffer).setUint32(8, header.length, true);
    for (let i = 0; i < header.length; i++) bytes[12 + i] = header.charCodeAt(i);
    new DataView(bytes.buffer).setFloat32(total, 0.25, true);
    new DataView(bytes.buffer).setFloat32(total + 4, -8, true);
    const back = decodeNpyFloat32(bytes);
    expect(back.shape).toEqual([2, 1]);
    expect(Array.from(back.data)).toEqual([0.25, -8]);
  });

  it("rejects files that are not little-endian C-order float32 .npy", () => {
    expect(() => decodeNpyFloat32(new TextEncoder().encode("PK\x03\x04 not npy at all"))).toThrow(
      /not a \.npy/,
    );
    const enc = encodeNpyFloat32(new Float32Array(4), [4]);
    const swap = (from: string, to: string) => {
      const copy = Uint8Array.from(enc);
      const { hlen, text } = headerOf(copy);
      const t = text.replace(from, to);
      expect(t.length).toBe(hlen);
      for (let i = 0; i < t.length; i++) copy[10 + i] = t.charCodeAt(i);
      return copy;
    };
    expect(() => decodeNpyFloat32(swap("'<f4'", "'>f4'"))).toThrow(/float32/);
    expect(() => decodeNpyFloat32(swap("'<f4'", "'<f8'"))).toThrow(/float32/);
    expect(() => decodeNpyFloat32(swap("False", "True "))).toThrow(/C-order/);
  });
});
