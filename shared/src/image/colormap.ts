/**
 * Turbo colormap (Mikhailov, Google 2019), polynomial fit; x in [0, 1] → RGB bytes.
 */
export function turbo(x: number): [number, number, number] {
  const t = x < 0 ? 0 : Math.min(x, 1);
  const r =
    0.13572138 +
    t *
      (4.6153926 + t * (-42.66032258 + t * (132.13108234 + t * (-152.94239396 + t * 59.28637943))));
  const g =
    0.09140261 +
    t * (2.19418839 + t * (4.84296658 + t * (-14.18503333 + t * (4.27729857 + t * 2.82956604))));
  const b =
    0.1066733 +
    t *
      (12.64194608 +
        t * (-60.58204836 + t * (110.36276771 + t * (-89.90310912 + t * 27.34824973))));
  return [toByte(r), toByte(g), toByte(b)];
}

function toByte(v: number): number {
  return Math.round(Math.min(1, Math.max(0, v)) * 255);
}

/**
 * Colorizes metric depth: near is warm, far is cool, spaced in inverse depth (as perceived
 * parallax is); 0 (invalid) is black. Returns RGB bytes, interleaved.
 */
export function colorizeDepth(depthM: Float32Array, nearM: number, farM: number): Uint8Array {
  const out = new Uint8Array(depthM.length * 3);
  const a = 1 / farM;
  const b = 1 / nearM;
  for (let i = 0; i < depthM.length; i++) {
    const d = depthM[i]!;
    if (!(d > 0) || !Number.isFinite(d)) continue;
    const [r, g, bl] = turbo((1 / d - a) / (b - a));
    out[3 * i] = r;
    out[3 * i + 1] = g;
    out[3 * i + 2] = bl;
  }
  return out;
}

/** The depth (m) the colour at position x ∈ [0, 1] of the bar stands for. */
export function depthAtBarPosition(x: number, nearM: number, farM: number): number {
  return 1 / (1 / farM + x * (1 / nearM - 1 / farM));
}
