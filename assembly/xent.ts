// Softmax cross-entropy, forward (probabilities and loss) and backward.
//
// Rows are split in fixed chunks; each chunk's loss goes to a partial slot and the
// caller adds the slots in order (same sum for any thread count).

import {
  OP_XENT_F, OP_XENT_B, PARTIAL, MAX_CHUNKS, ctl, elemParMin, elemChunk,
  setI, getI, setU, getU, setF, getF, run, chunksFor, rangeLo, rowChunks,
} from './pool';
import { ld, st, fmul, splat, expShiftTo, ld2, st2, dsplat, dmul } from './simd-math';

@inline function rowChunk(N: i32): i32 { return max(16, (N + MAX_CHUNKS - 1) / MAX_CHUNKS); }

export function xentForward(probs: usize, logits: usize, targets: usize, N: i32, V: i32): f64 {
  setU(0, probs); setU(1, logits); setU(2, targets); setI(3, N); setI(4, V);
  const chunk = rowChunk(N), chunks = (N + chunk - 1) / chunk;
  run(OP_XENT_F, chunksFor(chunks, <f64>N * <f64>V * 4, <f64>elemParMin, <f64>elemChunk));
  let loss = 0.0;
  for (let i = 0; i < chunks; i++) loss += load<f64>(ctl + PARTIAL + (<usize>i << 3));
  return loss;
}

export function xentFwdPart(t: i32, P: i32): void {
  const probs = getU(0), logits = getU(1), targets = getU(2), N = getI(3), V = getI(4);
  const chunk = rowChunk(N), chunks = (N + chunk - 1) / chunk;
  const c0 = rangeLo(chunks, 1, t, P), c1 = rangeLo(chunks, 1, t + 1, P);
  const V4 = V & ~3;
  for (let ch = c0; ch < c1; ch++) {
    let loss = 0.0;
    const r1 = min(N, (ch + 1) * chunk);
    for (let r = ch * chunk; r < r1; r++) {
      const lr = logits + (<usize>r * <usize>V << 2), pr = probs + (<usize>r * <usize>V << 2);
      let vm = splat(-Infinity);
      let v = 0;
      for (; v < V4; v += 4) vm = f32x4.pmax(vm, ld(lr + (<usize>v << 2))); // a NaN still reaches the sum through exp
      let mx = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
      for (; v < V; v++) mx = max(mx, load<f32>(lr + (<usize>v << 2)));
      const sum = expShiftTo(pr, lr, V, mx);
      const inv = <f32>(1.0 / sum), vinv = splat(inv);
      for (v = 0; v < V4; v += 4) st(pr + (<usize>v << 2), fmul(ld(pr + (<usize>v << 2)), vinv));
      for (; v < V; v++) store<f32>(pr + (<usize>v << 2), load<f32>(pr + (<usize>v << 2)) * inv);
      const tg = load<i32>(targets + (<usize>r << 2));
      if (tg >= 0) loss += Math.log(sum) + <f64>mx - <f64>load<f32>(lr + (<usize>tg << 2));
    }
    store<f64>(ctl + PARTIAL + (<usize>ch << 3), loss);
  }
}

export function xentBackward(dl: usize, probs: usize, targets: usize, N: i32, V: i32, scale: f64): void {
  setU(0, dl); setU(1, probs); setU(2, targets); setI(3, N); setI(4, V); setF(0, scale);
  run(OP_XENT_B, rowChunks(N, V, 1));
}

export function xentBwdPart(t: i32, P: i32): void {
  const dl = getU(0), probs = getU(1), targets = getU(2), N = getI(3), V = getI(4), s = getF(0);
  const lo = rangeLo(N, 1, t, P), hi = rangeLo(N, 1, t + 1, P);
  const vs = dsplat(s);
  for (let r = lo; r < hi; r++) {
    const o = <usize>r * <usize>V << 2, tg = load<i32>(targets + (<usize>r << 2));
    if (tg < 0) { memory.fill(dl + o, 0, <usize>V << 2); continue; }
    let v = 0;
    for (; v + 2 <= V; v += 2) st2(dl + o + (<usize>v << 2), dmul(ld2(probs + o + (<usize>v << 2)), vs));
    if (v < V) store<f32>(dl + o + (<usize>v << 2), <f32>(<f64>load<f32>(probs + o + (<usize>v << 2)) * s));
    const p = dl + o + (<usize>tg << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) - s));
  }
}
