/**
 * Blur by a uniform disc (a lens's defocus PSF, the pillbox) of radius `radius` px, borders
 * clamped. The kernel is the disc's area in each pixel (its coverage, 8×8 samples a pixel), so a
 * disc under half a pixel leaves the image as it is. `out` may not be `src`.
 *
 * Each kernel row is a run of fully covered taps, summed from a per-row prefix sum (O(1) per row
 * whatever its length), plus the few partly covered taps at its ends: O(pixels · radius).
 */
export function discBlur(
  src: Float32Array,
  width: number,
  height: number,
  radius: number,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  const kernel = discKernel(radius);
  const { reach: r, rows, total } = kernel;
  if (r === 0) {
    out.set(src);
    return out;
  }
  const w = width;
  const h = height;
  // Each source row padded by r clamped samples on either side, and its prefix sums.
  const pw = w + 2 * r;
  const padded = new Float32Array(h * pw);
  const prefix = new Float64Array(h * (pw + 1));
  for (let y = 0; y < h; y++) {
    const q = y * pw;
    const p = y * (pw + 1);
    let s = 0;
    for (let x = 0; x < pw; x++) {
      const v = src[y * w + (x - r < 0 ? 0 : x - r >= w ? w - 1 : x - r)]!;
      padded[q + x] = v;
      s += v;
      prefix[p + x + 1] = s;
    }
  }
  const acc = new Float64Array(w);
  const inv = 1 / total;
  for (let y = 0; y < h; y++) {
    acc.fill(0);
    // Kernel row by kernel row over the whole output row: tight loops, the same sum per pixel.
    for (const row of rows) {
      const yy = y + row.dy < 0 ? 0 : y + row.dy >= h ? h - 1 : y + row.dy;
      // Padded column of offset dx at x is x + r + dx.
      if (row.span >= 0) {
        const hi = yy * (pw + 1) + r + row.span + 1;
        const lo = yy * (pw + 1) + r - row.span;
        for (let x = 0; x < w; x++) acc[x]! += prefix[hi + x]! - prefix[lo + x]!;
      }
      for (let t = 0; t < row.dx.length; t++) {
        const c = yy * pw + r + row.dx[t]!;
        const wt = row.weight[t]!;
        for (let x = 0; x < w; x++) acc[x]! += wt * padded[c + x]!;
      }
    }
    for (let x = 0; x < w; x++) out[y * w + x] = acc[x]! * inv;
  }
  return out;
}

/**
 * One row of a disc kernel: the taps |dx| ≤ `span` fully covered (none when −1), each weighing
 * 1; the partly covered ones listed with their coverage.
 */
interface KernelRow {
  dy: number;
  span: number;
  dx: Int32Array;
  weight: Float64Array;
}

interface DiscKernel {
  /** Taps reach this far from the centre in either direction. */
  reach: number;
  rows: KernelRow[];
  /** Sum of all weights. */
  total: number;
}

const SAMPLES = 8;

/** How many of pixel (dx, dy)'s 8×8 subsamples lie inside a disc of `radius` px centred on (0, 0). */
export function discCoverage(radius: number, dx: number, dy: number): number {
  let c = 0;
  for (let a = 0; a < SAMPLES; a++)
    for (let b = 0; b < SAMPLES; b++) {
      const x = dx - 0.5 + (a + 0.5) / SAMPLES;
      const y = dy - 0.5 + (b + 0.5) / SAMPLES;
      if (x * x + y * y <= radius * radius) c++;
    }
  return c;
}

/** The coverage kernel of a disc of `radius` px. */
export function discKernel(radius: number): DiscKernel {
  const reach = Math.ceil(radius + 0.5);
  const rows: KernelRow[] = [];
  let total = 0;
  const full = SAMPLES * SAMPLES;
  for (let dy = -reach; dy <= reach; dy++) {
    const cover: number[] = [];
    for (let dx = -reach; dx <= reach; dx++) {
      const c = discCoverage(radius, dx, dy);
      cover.push(c);
      total += c;
    }
    // Fully covered taps form one centred run (the disc is convex and symmetric).
    let span = -1;
    while (span + 1 <= reach && cover[reach + span + 1] === full) span++;
    const dx: number[] = [];
    const weight: number[] = [];
    cover.forEach((c, k) => {
      const d = k - reach;
      if (c > 0 && Math.abs(d) > span) {
        dx.push(d);
        weight.push(c / full);
      }
    });
    if (span >= 0 || dx.length > 0)
      rows.push({ dy, span, dx: Int32Array.from(dx), weight: Float64Array.from(weight) });
  }
  // A disc inside the centre pixel spreads nothing: the identity (reach 0).
  return { reach: total > full ? reach : 0, rows, total: total / full };
}
