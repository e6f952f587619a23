// rnnkit public API. Everything here runs in browsers too, except loading from and
// saving to a file path (Node), which is imported only when used.
export { LanguageModel, type EvalStats } from './models/language-model.js';
export {
  CharLM, type CharLMConfig, type RecurrentState, type ForwardOptions, type BackwardOptions, type InitialState,
  INITIAL_STATES, charLMParamSpecs, isReferenceConfig,
} from './models/char-lm.js';
export type { SampleOptions } from './models/sample.js';
export {
  Recurrent, type RecurrentOptions, type RecurrentForwardOptions, type RecurrentForwardResult,
  type RecurrentBackwardOptions, type RecurrentBackwardResult,
} from './nn/recurrent-layer.js';
export { CELL_TYPES, type CellType } from './nn/recurrent.js';
export { RecurrentStack, type StackConfig, type InitialState as StackInitialState } from './nn/stack.js';
export { uniformLayout, packedLayout, sortByLength, type StepLayout } from './nn/layout.js';
export { POOLS, type Pool } from './nn/pool.js';
// models for every task shape (docs/models.md)
export { SequenceEncoder, type EncoderConfig, type Sequence } from './models/encoder.js';
export { Classifier, type ClassifierConfig, type ClassifierExample } from './models/classifier.js';
export { Tagger, type TaggerConfig, type TaggerExample } from './models/tagger.js';
export { Generator, type GeneratorConfig, type GeneratorExample, type GeneratorOutput } from './models/generator.js';
export { Seq2Seq, ATTENTIONS, type Seq2SeqConfig, type Seq2SeqExample, type AttentionKind } from './models/seq2seq.js';
export { beamSearch, decodeOne, type StepDecoder, type BeamOptions, type Hypothesis } from './models/beam.js';
export { encodeClassifier, type ClassifierBundle } from './models/classifier-checkpoint.js';
export {
  encodeTagger, encodeGenerator, encodeSeq2Seq, type TaggerBundle, type GeneratorBundle, type Seq2SeqBundle,
} from './models/task-checkpoints.js';
export { readModel, expectKind, MODEL_KINDS, type LoadedModel, type ModelKind } from './models/checkpoints.js';
// training on examples, and the task glue
export {
  ExampleTrainer, runExampleTraining, DEFAULT_EXAMPLE_TRAIN, type ExampleModel, type ExampleTrainConfig, type ValidationReport,
  type EpochReport, type ExampleStep,
} from './train/examples.js';
export { Updater, DEFAULT_UPDATE, type UpdateConfig } from './train/update.js';
export { classifierTask, evaluateClassifier, textExamples, textVocabulary, holdOut, type ClassifierEvaluation } from './tasks/classify.js';
export { taggerTask, evaluateTagger, tagExamples, tagVocabulary, type TagEvaluation } from './tasks/tag.js';
export { seq2seqTask, evaluateTranslation, pairExamples, translationVocabularies, translateText, type TranslationScores } from './tasks/translate.js';
// data and metrics
export { TokenVocab, tokenize, detokenize, UNITS, UNK, BOS, EOS, type Tokenizer, type Units } from './data/tokens.js';
export { parseLabelled, parsePairs, parseConll, formatConll, type Labelled, type Pair, type TaggedSequence } from './data/datasets.js';
export { parseIdxImages, parseIdxLabels, mnistSet, type MnistSet } from './data/mnist.js';
export { corpusBleu, sacreBleu, tokenize13a, type BleuResult } from './metrics/bleu.js';
export { classificationMetrics, formatClassReport, formatConfusion, type ClassificationMetrics } from './metrics/classification.js';
export { levenshtein, tokenErrorRate } from './metrics/edit-distance.js';
export { Vocab } from './data/vocab.js';
export { tokenIdArray, type TokenIds } from './data/token-ids.js';
export { Rng } from './core/rng.js';
export { UserError } from './core/errors.js';
export { Trainer, DEFAULT_TRAIN, NonFiniteError, FEED_MODES, type FeedMode, type TrainConfig, type StepResult } from './train/trainer.js';
export { scheduledProbability, SCHEDULES, type ScheduleName } from './train/schedule.js';
export { FaultGuard, TrainingFault, FAULT_MODES, DEFAULT_FAULT_POLICY, type Fault, type FaultMode, type FaultPolicy } from './train/faults.js';
export { warmStartAccuracy, type WarmStartResult } from './train/warm-start.js';
export { lineChart, type Series, type ChartOptions } from './viz/chart.js';
export { svgToPng } from './viz/png.js';
export { spectralNorm, frobeniusNorm } from './analysis/linalg.js';
export {
  gradientWindows, gradientVsDistance, jacobianNorms, weightSpectra, scaleRecurrentWeights,
  type DistanceProfile, type JacobianProfile, type WeightSpectrum,
} from './analysis/gradients.js';
// the interpretable-cell viewer and search (docs/cells.md)
export { analyzeCells, DEFAULT_MAX_SHOWN, type CellsOptions, type CellsReport, type UserSignal } from './analysis/cells.js';
export { BUILTIN_SIGNALS, builtinSignals, regexSignal, parseNumberSignal, type Signal } from './analysis/cell-signals.js';
export { pearson, bestCells, SATURATION, type CellRef } from './analysis/cell-stats.js';
export { cellsPage, type CellsPageData } from './viz/cells-page.js';
export { similarSpans, type SpanSearchOptions, type SpanSearchResult } from './viz/span-search.js';
export { trainCopyTask, copyLayout, copyBatch, type CopyTaskOptions, type CopyTaskResult } from './tasks/copy-task.js';
export { runTraining, type RunOptions, type RunHooks, type EvalReport } from './train/run.js';
export { Optimizer, OPTIMIZERS, type OptimizerName } from './train/optim.js';
export { sequenceLoss, streamLoss } from './models/lm-loss.js';
export { splitText, trainLanguageModel, type TrainTextOptions } from './train/train-text.js';
export { encodeRun, runMeta, resumeTrainer, textInfo, fingerprint, type RunMeta, type TextInfo } from './train/run-checkpoint.js';
export { encodeSafetensors, decodeSafetensors, SafetensorsError } from './io/safetensors.js';
export { encodeCheckpoint, decodeCheckpoint } from './models/charlm-checkpoint.js';
export { FORMAT } from './io/checkpoint.js';
export { getBackend, setBackend, availableBackends } from './backend/registry.js';
export { initBackend, loadBackends } from './backend/init.js';
export type { Backend } from './backend/backend.js';

import { LanguageModel } from './models/language-model.js';
import { ensureBackend } from './backend/init.js';

/**
 * Loads a checkpoint from a file path (Node) or from its bytes (anywhere). Selects the
 * fastest backend first unless one was chosen (initBackend) or is named here.
 */
export async function loadModel(source: string | Uint8Array | ArrayBuffer, opts: { backend?: string } = {}): Promise<LanguageModel> {
  await ensureBackend(opts.backend);
  if (typeof source === 'string') {
    const { readCheckpointFile } = await import('./node/checkpoint-file.js');
    const { model, vocab } = await readCheckpointFile(source);
    return new LanguageModel(model, vocab);
  }
  return LanguageModel.fromBytes(source instanceof Uint8Array ? source : new Uint8Array(source));
}

/** Writes a model checkpoint atomically (Node). */
export async function saveModel(model: LanguageModel, path: string): Promise<void> {
  const { writeCheckpointFile } = await import('./node/checkpoint-file.js');
  await writeCheckpointFile(path, model.toBytes());
}
