// rnnkit/node: the Node-only helpers (files). Everything else is in 'rnnkit'.
export { readModelFile, readCheckpointFile, writeCheckpointFile } from './node/checkpoint-file.js';
export { readMnist, type MnistSplit } from './node/mnist-file.js';
export { readTextFile, readBinaryFile, writeFileAtomic } from './node/files.js';
export { readCorpus, type Corpus, type CorpusOptions, type CorpusPass } from './node/corpus.js';
