// Scheduled sampling (Bengio et al. 2015): p(i) = probability that an input is the
// model's own sample of the previous step instead of the true token, after i updates.
// Bengio et al. write the probability of the TRUE token, eps_i; here p = 1 - eps_i.
// Each schedule has one parameter S = scheduleSteps > 0:
//   linear:          p = min(1, i/S)                          p(0) = 0, p(S) = 1
//   exponential:     eps_i = e^i with e = 2^(-1/S),
//                    so p = 1 - 2^(-i/S)                      p(0) = 0, p(S) = 1/2, p -> 1
//   inverse-sigmoid: eps_i = k/(k + exp(i/k)),
//                    so p = 1/(1 + k exp(-i/k))               p(0) = 1/(1+k), p(S) = 1/2, p -> 1
//     where k >= 1 solves exp(S/k) = k, i.e. k ln k = S, i.e. k = exp(W(S)) = S/W(S)
//     with W the Lambert W function. Bengio's form does not start at exactly 0.
// All three rise monotonically in i.

export type ScheduleName = 'linear' | 'inverse-sigmoid' | 'exponential';
export const SCHEDULES: readonly ScheduleName[] = ['linear', 'inverse-sigmoid', 'exponential'];

/** Feedback probability after i updates. */
export function scheduledProbability(kind: ScheduleName, i: number, S: number): number {
  if (!(S > 0)) throw new Error(`scheduleSteps must be positive, got ${S}`);
  switch (kind) {
    case 'linear': return Math.min(1, i / S);
    case 'exponential': return -Math.expm1(-Math.LN2 * i / S); // 1 - 2^(-i/S), exact near 0
    case 'inverse-sigmoid': {
      const k = inverseSigmoidK(S);
      return 1 / (1 + k * Math.exp(-i / k)); // = 1 - k/(k + exp(i/k)), without overflow
    }
  }
}

/** The k >= 1 with k ln k = S: k = exp(y) where y e^y = S (Newton from above, monotone). */
export function inverseSigmoidK(S: number): number {
  let y = Math.log1p(S); // >= W(S), and y e^y is convex, so Newton steps down to the root
  for (let it = 0; it < 100; it++) {
    const ey = Math.exp(y), step = (y * ey - S) / (ey * (y + 1));
    y -= step;
    if (!(Math.abs(step) > 1e-15 * Math.max(1, Math.abs(y)))) break;
  }
  return Math.exp(y);
}
