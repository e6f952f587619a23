// The Cells panel's document: `rnnkit cells` for the model being trained, on held-out
// text (the page shows it in a sandboxed iframe's srcdoc). Statistics and the search
// cover all of the text given; the page colours its first SHOWN characters.
import { analyzeCells, cellsPage, type LanguageModel } from 'rnnkit';

const SHOWN = 2000;

export function cellViewHtml(lm: LanguageModel, text: string, step: number): string {
  const report = analyzeCells(lm, text, { maxShown: SHOWN, skipUnknown: true, source: 'held-out text' });
  return cellsPage(report, { title: `rnnkit playground: cells at step ${step}` });
}
