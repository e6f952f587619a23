// Pascanu, Mikolov & Bengio 2013 ("On the difficulty of training recurrent neural
// networks", eq. 9): a regularizer that asks each step of a vanilla RNN to preserve the
// norm of the gradient flowing back through it,
//   Ω = mean over steps t and streams b of ( ||v_t ∂h_t/∂h_{t-1}|| / ||v_t|| - 1 )²,
// where v_t = dE/dh_t is treated as a constant, as in the paper. For h_t = f(a_t),
// a_t = W_hh h_{t-1} + ...:  v_t ∂h_t/∂h_{t-1} = (v_t ⊙ f'(a_t)) W_hh = u_t.
// Ω depends on W_hh directly and, for tanh (f' = 1 - h_t²), on h_t, so backward gives
// dW_hh and an extra gradient e_t = dΩ/dh_t for the caller to backpropagate.
import type { Arr } from '../core/params.js';
import { getBackend } from '../backend/registry.js';

/** f'(a_t) from h_t = f(a_t). */
function slope(relu: boolean, h: number): number {
  return relu ? (h > 0 ? 1 : 0) : 1 - h * h;
}

/**
 * Ω summed (not averaged) over the T*B rows. hs ((T+1)*B, H): block t+1 is h_t;
 * v (T*B, H) row block t is dE/dh_t; W (H, H). Leaves w = v ⊙ f' and u = w W in the scratch
 * arrays (T*B, H) for pascanuBackward. Rows with v = 0 (no gradient) count 0.
 */
export function pascanuForward(relu: boolean, T: number, B: number, H: number, hs: Arr, v: Arr, W: Arr, w: Arr, u: Arr): number {
  const N = T * B;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < H; j++) w[n * H + j] = v[n * H + j]! * slope(relu, hs[B * H + n * H + j]!);
  }
  getBackend().gemm(false, false, N, H, H, 1, w, 0, H, W, 0, H, 0, u, 0, H);
  let omega = 0;
  for (let n = 0; n < N; n++) {
    const { nu, nv } = rowNorms(u, v, n, H);
    if (nv > 0) omega += (nu / nv - 1) ** 2;
  }
  return omega;
}

/**
 * Gradient of scale * Ω (with v constant): dW += ..., and e (T*B, H) = d(scale Ω)/dh_t
 * through f'(a_t) (zero for relu). gu is (T*B, H) scratch; w and u come from pascanuForward.
 */
export function pascanuBackward(relu: boolean, T: number, B: number, H: number, hs: Arr, v: Arr, W: Arr,
  w: Arr, u: Arr, gu: Arr, scale: number, dW: Arr, e: Arr): void {
  const be = getBackend(), N = T * B;
  // dΩ_n/du = 2 (r - 1) u / (||u|| ||v||), r = ||u|| / ||v||
  for (let n = 0; n < N; n++) {
    const { nu, nv } = rowNorms(u, v, n, H);
    const coef = nv > 0 && nu > 0 ? (scale * 2 * (nu / nv - 1)) / (nu * nv) : 0;
    for (let j = 0; j < H; j++) gu[n * H + j] = coef * u[n * H + j]!;
  }
  // u = w W: dW += wᵀ gu, dw = gu Wᵀ (into e, then through w = v ⊙ (1 - h²))
  be.gemm(true, false, H, H, N, 1, w, 0, H, gu, 0, H, 1, dW, 0, H);
  be.gemm(false, true, N, H, H, 1, gu, 0, H, W, 0, H, 0, e, 0, H);
  for (let k = 0; k < N * H; k++) e[k] = relu ? 0 : e[k]! * v[k]! * -2 * hs[B * H + k]!;
}

function rowNorms(u: Arr, v: Arr, n: number, H: number): { nu: number; nv: number } {
  let su = 0, sv = 0;
  for (let j = 0; j < H; j++) { su += u[n * H + j]! ** 2; sv += v[n * H + j]! ** 2; }
  return { nu: Math.sqrt(su), nv: Math.sqrt(sv) };
}
