// Finite-difference gradient checking, for tests of backward passes (ours and users' layers).
// Web-standard only: no node: imports, so it runs in the browser too.
//
// Run the checked function in float64. A central difference (f(x+h) - f(x-h)) / 2h has
// truncation error O(h^2) (the odd terms of the Taylor series cancel) and rounding error
// about ulp(f) / h; for an O(1) loss in float64 the total is smallest near h = 1e-5, at
// an absolute ~1e-11 (so ~1e-7 relative on a gradient of 1e-4). order 4 combines the
// differences at h and 2h (Richardson: the five-point stencil), truncation O(h^4), so h
// can be ~1e-3 and the rounding error drops about 100-fold. In float32, ulp(f) / h swamps
// everything at any useful h: float32 checks only catch gross bugs.

import type { Rng } from '../core/rng.js';

export type GradArray = Float64Array | Float32Array;

/**
 * dF/dx[i] for each i in indices by central differences with step eps: order 2 is
 * (f(x+eps) - f(x-eps)) / 2eps, order 4 is (4 D(eps) - D(2eps)) / 3 with D that same
 * quotient (the five-point stencil). f must read x (typically x is a view of a model's
 * parameters or state). Each entry gets back its exact original value before the next
 * one is perturbed.
 */
export function numericGradient(f: () => number, x: GradArray, indices: number[], eps = 1e-6, order: 2 | 4 = 2): number[] {
  if (order !== 2 && order !== 4) throw new RangeError(`numericGradient: order must be 2 or 4, got ${order}`);
  const out: number[] = [];
  for (const i of indices) {
    if (!(Number.isInteger(i) && i >= 0 && i < x.length)) throw new RangeError(`numericGradient: index ${i} outside [0, ${x.length})`);
    const orig = x[i]!;
    const diff = (h: number) => {
      x[i] = orig + h;
      const up = x[i]!; // the stored value: in a Float32Array orig ± h is rounded
      const fUp = f();
      x[i] = orig - h;
      const down = x[i]!;
      const fDown = f();
      // divide by the step actually taken, not 2h (they differ in float32)
      return (fUp - fDown) / (up - down);
    };
    try {
      const d1 = diff(eps);
      out.push(order === 2 ? d1 : (4 * d1 - diff(2 * eps)) / 3);
    } finally {
      x[i] = orig; // also when f throws
    }
  }
  return out;
}

/** |a - b| / max(|a|, |b|, tiny): tiny keeps two (near-)zero gradients from dividing 0 by 0. */
export function relativeError(a: number, b: number, tiny = 1e-300): number {
  const d = Math.abs(a - b);
  if (d === 0) return 0;
  return d / Math.max(Math.abs(a), Math.abs(b), tiny); // NaN in, NaN out
}

/** All of 0..n-1 when n <= k, else k distinct indices drawn with rng (sorted ascending). */
export function sampleIndices(n: number, k: number, rng: Rng): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  // partial Fisher-Yates over 0..n-1: the first k slots end up a uniform k-subset
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = a[i]!; a[i] = a[j]!; a[j] = t;
  }
  return a.slice(0, k).sort((p, q) => p - q);
}

export interface GradcheckOptions {
  /** Entries of x to check (default: all). */
  indices?: number[];
  /** Finite-difference step (default 1e-6; with f and x of order 1 in float64, 1e-5 is best for order 2, 1e-3 for order 4). */
  eps?: number;
  /** 2: central difference (default); 4: five-point stencil, ~100x more accurate at eps ~1e-3. */
  order?: 2 | 4;
  /**
   * Floor of the relative-error denominator. Entries whose gradients are both smaller
   * than this are compared absolutely, so that finite-difference noise on gradients
   * that are zero in exact arithmetic does not count as a large relative error.
   * Default 1e-300 (pure relative error).
   */
  tiny?: number;
  /** How many of the worst entries the report lists (default 3). */
  worst?: number;
  /** Prefix of the report, e.g. the tensor's name. */
  name?: string;
}

export interface GradcheckEntry {
  index: number;
  analytic: number;
  numeric: number;
  error: number; // relativeError(analytic, numeric, tiny)
}

export interface GradcheckResult {
  /** Largest relative error over the checked entries (NaN if any gradient was NaN). */
  maxError: number;
  checked: number;
  /** The worst entries, worst first. */
  worst: GradcheckEntry[];
  /** One line: name, max error, checked count and the worst entries. */
  report: string;
}

/**
 * Compares an analytic gradient with central differences of f with respect to x.
 * analytic[i] is dF/dx[i]; it is read before x is perturbed, so it may alias buffers
 * that f overwrites (a workspace's gradients, say).
 */
export function gradcheck(f: () => number, x: GradArray, analytic: ArrayLike<number>, opts: GradcheckOptions = {}): GradcheckResult {
  if (analytic.length !== x.length) throw new RangeError(`gradcheck: analytic has ${analytic.length} entries, x has ${x.length}`);
  const indices = opts.indices ?? Array.from({ length: x.length }, (_, i) => i);
  const tiny = opts.tiny ?? 1e-300;
  const want = indices.map((i) => analytic[i]!);
  const got = numericGradient(f, x, indices, opts.eps ?? 1e-6, opts.order ?? 2);
  const entries: GradcheckEntry[] = indices.map((index, k) => ({
    index, analytic: want[k]!, numeric: got[k]!, error: relativeError(want[k]!, got[k]!, tiny),
  }));
  // NaN sorts first: a NaN gradient is the worst possible entry
  const rank = (e: GradcheckEntry) => (Number.isNaN(e.error) ? Infinity : e.error);
  entries.sort((p, q) => rank(q) - rank(p));
  const maxError = entries.length === 0 ? 0 : entries[0]!.error;
  const worst = entries.slice(0, opts.worst ?? 3);
  const fmt = (v: number) => (Number.isFinite(v) ? v.toExponential(3) : String(v));
  const report = `${opts.name ? `${opts.name}: ` : ''}max rel err ${fmt(maxError)} over ${entries.length} entries` +
    (worst.length ? `; worst ${worst.map((e) => `[${e.index}] analytic ${fmt(e.analytic)} numeric ${fmt(e.numeric)} (${fmt(e.error)})`).join(', ')}` : '');
  return { maxError, checked: entries.length, worst, report };
}
