/** sRGB transfer function: defocus mixes light, so blur happens in linear values. */
export function srgbToLinear(v: number): number {
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

export function linearToSrgb(v: number): number {
  const c = v < 0 ? 0 : Math.min(v, 1);
  return c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
}

export function mapInPlace(data: Float32Array, f: (v: number) => number): Float32Array {
  for (let i = 0; i < data.length; i++) data[i] = f(data[i]!);
  return data;
}
