// Classification metrics from gold and predicted class ids, with sklearn's conventions:
// a ratio whose denominator is 0 (precision of a class never predicted, recall of a class
// never in the gold labels) counts as 0, as sklearn's zero_division=0. Averages run over all
// numClasses classes, including ones absent from both arrays (as sklearn with
// labels=range(numClasses)), so declaring a class that never occurs lowers macro-F1.
import { UserError } from '../core/errors.js';

export interface ClassificationMetrics {
  numClasses: number;
  /** Number of examples. */
  total: number;
  /** Fraction of examples predicted right (0 when there are none). */
  accuracy: number;
  /** Per class c: correct c predictions / all c predictions. */
  precision: Float64Array;
  /** Per class c: correct c predictions / gold c examples. */
  recall: Float64Array;
  /** Per class: harmonic mean of precision and recall, 2TP / (2TP + FP + FN). */
  f1: Float64Array;
  /** Per class: gold examples of the class. */
  support: Int32Array;
  /** Unweighted means over the classes. */
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** Means weighted by support. */
  weightedF1: number;
  /** confusion[g][p]: examples of gold class g predicted as p (rows gold, columns predicted). */
  confusion: Int32Array[];
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

/** Confusion matrix, rows = gold class, columns = predicted class. */
export function confusionMatrix(gold: Int32Array, predicted: Int32Array, numClasses: number): Int32Array[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new UserError(`numClasses must be a positive integer, got ${numClasses}`);
  if (gold.length !== predicted.length) throw new UserError(`${gold.length} gold labels but ${predicted.length} predictions`);
  const m = Array.from({ length: numClasses }, () => new Int32Array(numClasses));
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i]!, p = predicted[i]!;
    if (g < 0 || g >= numClasses) throw new UserError(`gold label ${i} is ${g}, outside 0..${numClasses - 1}`);
    if (p < 0 || p >= numClasses) throw new UserError(`prediction ${i} is ${p}, outside 0..${numClasses - 1}`);
    m[g]![p]!++;
  }
  return m;
}

export function classificationMetrics(gold: Int32Array, predicted: Int32Array, numClasses: number): ClassificationMetrics {
  const confusion = confusionMatrix(gold, predicted, numClasses);
  const C = numClasses, total = gold.length;
  const precision = new Float64Array(C), recall = new Float64Array(C), f1 = new Float64Array(C), support = new Int32Array(C);
  let correct = 0;
  for (let c = 0; c < C; c++) {
    const tp = confusion[c]![c]!;
    let goldC = 0, predC = 0;
    for (let k = 0; k < C; k++) { goldC += confusion[c]![k]!; predC += confusion[k]![c]!; }
    correct += tp;
    support[c] = goldC;
    precision[c] = ratio(tp, predC);
    recall[c] = ratio(tp, goldC);
    f1[c] = ratio(2 * tp, goldC + predC); // 2TP + FP + FN = gold + predicted
  }
  const mean = (a: Float64Array): number => a.reduce((s, x) => s + x, 0) / C;
  let weighted = 0;
  for (let c = 0; c < C; c++) weighted += f1[c]! * support[c]!;
  return {
    numClasses: C, total, accuracy: ratio(correct, total),
    precision, recall, f1, support,
    macroPrecision: mean(precision), macroRecall: mean(recall), macroF1: mean(f1),
    weightedF1: ratio(weighted, total),
    confusion,
  };
}

/** Plain-text table: left-aligned first column, the others right-aligned, two spaces apart. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  ').trimEnd()).join('\n');
}

function checkLabels(labels: readonly string[], n: number, what: string): void {
  if (labels.length !== n) throw new UserError(`${labels.length} labels for ${n} classes in ${what}`);
}

/**
 * The confusion matrix as aligned text: one row per gold class, one column per predicted
 * class, with the row totals (gold support) and column totals (predictions) at the ends.
 */
export function formatConfusion(labels: readonly string[], matrix: readonly ArrayLike<number>[]): string {
  const C = matrix.length;
  checkLabels(labels, C, 'formatConfusion');
  const rows: string[][] = [['gold \\ predicted', ...labels, 'total']];
  const colTotals = new Array<number>(C).fill(0);
  for (let g = 0; g < C; g++) {
    const row = matrix[g]!;
    if (row.length !== C) throw new UserError(`formatConfusion: row ${g} has ${row.length} entries, expected ${C}`);
    let sum = 0;
    const cells: string[] = [];
    for (let p = 0; p < C; p++) { sum += row[p]!; colTotals[p] += row[p]!; cells.push(String(row[p])); }
    rows.push([labels[g]!, ...cells, String(sum)]);
  }
  rows.push(['total', ...colTotals.map(String), String(colTotals.reduce((s, x) => s + x, 0))]);
  return table(rows);
}

/**
 * Per-class precision, recall, F1 and support, then accuracy, macro and weighted averages,
 * laid out like sklearn's classification_report.
 */
export function formatClassReport(labels: readonly string[], m: ClassificationMetrics, opts: { digits?: number } = {}): string {
  checkLabels(labels, m.numClasses, 'formatClassReport');
  const d = opts.digits ?? 3;
  const f = (x: number): string => x.toFixed(d);
  const rows: string[][] = [['', 'precision', 'recall', 'f1-score', 'support']];
  for (let c = 0; c < m.numClasses; c++) rows.push([labels[c]!, f(m.precision[c]!), f(m.recall[c]!), f(m.f1[c]!), String(m.support[c])]);
  rows.push(['', '', '', '', '']);
  rows.push(['accuracy', '', '', f(m.accuracy), String(m.total)]);
  const weighted = (a: Float64Array): number => ratio(a.reduce((s, x, c) => s + x * m.support[c]!, 0), m.total);
  rows.push(['macro avg', f(m.macroPrecision), f(m.macroRecall), f(m.macroF1), String(m.total)]);
  rows.push(['weighted avg', f(weighted(m.precision)), f(weighted(m.recall)), f(m.weightedF1), String(m.total)]);
  return table(rows);
}
