// rnnkit info <checkpoint>: what a checkpoint holds, without running it.
import { stat } from 'node:fs/promises';
import { readModelFile } from '../node/checkpoint-file.js';
import type { LoadedModel } from '../models/checkpoints.js';

const WHAT: Record<LoadedModel['kind'], string> = {
  charlm: 'character language model (rnnkit train / sample / eval)',
  classifier: 'sequence classifier, many-to-one (rnnkit classify)',
  tagger: 'sequence tagger, one label per token (rnnkit tag)',
  generator: 'conditioned generator, one-to-many (from code; docs/tasks.md)',
  seq2seq: 'encoder-decoder, sequence to sequence (rnnkit translate)',
};

export async function infoCheckpoint(path: string, json: boolean): Promise<number> {
  const { loaded, ck } = await readModelFile(path);
  const config = JSON.parse(ck.metadata['config']!) as Record<string, unknown>;
  const size = (await stat(path)).size;
  const params = [...ck.tensors].filter(([n]) => !n.startsWith('optim.') && !n.startsWith('train.')).reduce((s, [, t]) => s + t.data.length, 0);
  // training state is free-form JSON that only --resume checks: shown when it is an object
  const raw = ck.metadata['train'] ? ck.json('train') : null;
  const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v); // eslint-disable-line @typescript-eslint/no-explicit-any
  const train = isObject(raw) ? raw : null;
  const extra: Record<string, unknown> = {};
  switch (loaded.kind) {
    case 'charlm': extra['vocabulary'] = loaded.charlm.vocab.size; break;
    case 'classifier': extra['labels'] = loaded.classifier.labels; if (loaded.classifier.vocab) { extra['vocabulary'] = loaded.classifier.vocab.size; extra['tokenizer'] = loaded.classifier.tokenizer; } break;
    case 'tagger': extra['tags'] = loaded.tagger.tags; extra['vocabulary'] = loaded.tagger.vocab.size; extra['tokenizer'] = loaded.tagger.tokenizer; break;
    case 'generator': if (loaded.generator.vocab) extra['vocabulary'] = loaded.generator.vocab.size; break;
    case 'seq2seq': extra['source vocabulary'] = loaded.seq2seq.source.size; extra['target vocabulary'] = loaded.seq2seq.target.size;
      extra['source tokenizer'] = loaded.seq2seq.sourceTokenizer; extra['target tokenizer'] = loaded.seq2seq.targetTokenizer; break;
  }
  const t = isObject(train?.['trainer']) ? train!['trainer'] : undefined;
  const training = !train ? null : t && 'epoch' in t && 'pos' in t
    ? { epochs: t.epoch, step: t.step, best_score: t.best, best_epoch: t.bestEpoch, data: train['data'] }
    : { step: t?.step, epoch: t?.epoch, best_val_loss: t?.bestVal, text: train['text'] };
  if (json) {
    process.stdout.write(JSON.stringify({ file: path, bytes: size, format: ck.metadata['format'], kind: loaded.kind, parameters: params, config, ...extra, training }) + '\n');
    return 0;
  }
  const fmt = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  let s = `${path}: rnnkit checkpoint (${ck.metadata['format']}), ${size.toLocaleString('en')} bytes\n  kind: ${loaded.kind}, ${WHAT[loaded.kind]}\n` +
    `  parameters: ${params.toLocaleString('en')}\n  config: ${Object.entries(config).map(([k, v]) => `${k}=${fmt(v)}`).join(', ')}\n`;
  for (const [k, v] of Object.entries(extra)) s += `  ${k}: ${Array.isArray(v) && v.length > 20 ? `${v.length} (${v.slice(0, 20).join(', ')}, ...)` : Array.isArray(v) ? v.join(', ') : fmt(v)}\n`;
  s += training ? `  training state: ${Object.entries(training).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')} (--resume continues it)\n` : '  training state: none (weights only)\n';
  process.stdout.write(s);
  return 0;
}
