// The reference backend: plain TypeScript loops, generic over float32 and float64
// (gradient checks run it in float64). Every other backend is tested against it.
import type { Backend } from '../backend.js';
import type { Arr } from '../../core/params.js';
import { gemm } from './gemm.js';
import * as cells from './cells.js';
import * as flat from './optim.js';
import * as norm from './norm.js';

export const refBackend: Backend = {
  name: 'ref',
  alloc: (n: number) => new Float32Array(n),
  gemm,
  fillRows(Y: Arr, yOff: number, bias: Arr, rows: number, n: number) {
    for (let r = 0; r < rows; r++) Y.set(bias, yOff + r * n);
  },
  sumRows(db: Arr, dY: Arr, dyOff: number, rows: number, n: number) {
    for (let r = 0; r < rows; r++) {
      const o = dyOff + r * n;
      for (let j = 0; j < n; j++) db[j] += dY[o + j];
    }
  },
  ...cells,
  ...flat,
  ...norm,
};
