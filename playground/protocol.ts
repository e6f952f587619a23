// Messages between the page (main.ts) and the training worker (worker.ts).
import type { CellType } from 'rnnkit';

export interface ModelSettings {
  cell: CellType;
  layers: number;
  hidden: number;
  embedding: number;
}

export interface TrainSettings {
  batch: number;
  seq: number;
  lr: number;
  seed: number;
  evalEvery: number;
}

/** Page -> worker. */
export type Command =
  | { type: 'start'; text: string; textName: string; model: ModelSettings; train: TrainSettings }
  | { type: 'pause' }
  /** Continues the current model; text is the page's current text (used after an upload). */
  | { type: 'resume'; text: string; textName: string; train: TrainSettings }
  | { type: 'temperature'; value: number }
  | { type: 'sample'; length: number }
  | { type: 'cells'; text: string }
  | { type: 'download' }
  | { type: 'upload'; bytes: ArrayBuffer; name: string };

export interface ModelInfo extends ModelSettings {
  params: number;
  vocab: number;
  step: number;
}

/** Worker -> page. */
export type Report =
  | { type: 'ready'; backend: string; threads: number; isolated: boolean; note: string }
  | { type: 'state'; state: 'idle' | 'running' | 'paused'; model: ModelInfo | null }
  /** Training steps since the last report: their steps and losses (bits per character). */
  | { type: 'progress'; steps: number[]; bpc: number[]; tokensPerSec: number; epochs: number }
  | { type: 'eval'; step: number; valBpc: number; sample: string }
  | { type: 'sample'; text: string }
  | { type: 'cells'; html: string }
  | { type: 'checkpoint'; bytes: ArrayBuffer; name: string }
  | { type: 'loaded'; name: string; message: string }
  | { type: 'error'; message: string };
