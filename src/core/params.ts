// ParamSet: one flat buffer carved into named tensors (llm.c style). Gradients and
// optimizer moments use the same layout, so updates, clipping and checkpoints are
// single loops over one array.

import { allocArray } from './alloc.js';

export type Arr = Float32Array | Float64Array;
export type DType = 'float32' | 'float64';

export interface ParamSpec {
  name: string;
  shape: number[];
}

export interface ParamView {
  name: string;
  shape: number[];
  offset: number; // into ParamSet.data
  size: number;
  data: Arr; // view of ParamSet.data
}

export class ParamSet {
  readonly data: Arr;
  readonly views: ParamView[] = [];
  private byName = new Map<string, ParamView>();

  constructor(specs: ParamSpec[], dtype: DType = 'float32') {
    let total = 0;
    for (const s of specs) total += s.shape.reduce((a, b) => a * b, 1);
    this.data = allocArray(total, dtype);
    let offset = 0;
    for (const s of specs) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const v: ParamView = { name: s.name, shape: s.shape.slice(), offset, size, data: this.data.subarray(offset, offset + size) };
      this.views.push(v);
      this.byName.set(s.name, v);
      offset += size;
    }
  }

  get(name: string): Arr {
    const v = this.byName.get(name);
    if (!v) throw new Error(`ParamSet: no tensor named '${name}'`);
    return v.data;
  }

  view(name: string): ParamView | undefined {
    return this.byName.get(name);
  }

  /** A new ParamSet with the same layout, zero-filled (for gradients, moments). */
  like(dtype?: DType): ParamSet {
    return new ParamSet(this.views, dtype ?? (this.data instanceof Float64Array ? 'float64' : 'float32'));
  }

  zero(): void {
    this.data.fill(0);
  }
}
