/** Uniformly random decoder samples, 8-bit or 16-bit (`wide`), from `rnd` in [0, 1). */
export function randomSamples(
  length: number,
  wide: boolean,
  rnd: () => number,
): Uint8Array | Uint16Array {
  const max = wide ? 65535 : 255;
  const out = wide ? new Uint16Array(length) : new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(rnd() * (max + 1));
  return out;
}
