// Mutations of a valid checkpoint for fuzzing its reader: each takes the bytes of a
// safetensors file and returns corrupt or odd bytes, labelled by what was changed. They
// aim at every field a reader trusts: the header length, the header JSON, the tensor
// entries (dtype, shape, data offsets), the metadata (format, kind, the model config,
// vocabularies and other lists), and raw bytes. Deterministic for a given Rng.
import type { Rng } from '../core/rng.js';

export const MUTATION_KINDS = [
  'header-length', 'header-json', 'tensor-list', 'dtype', 'shape', 'offsets', 'config', 'vocab', 'metadata', 'byte-flip', 'truncate',
] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

export interface Mutant { kind: MutationKind; what: string; bytes: Uint8Array }

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Entry = [name: string, value: Json];

/** A checkpoint taken apart: header entries in file order, and the data section. */
interface Parts { entries: Entry[]; data: Uint8Array }

const HUGE_STRING_CHARS = 1 << 20;
const enc = new TextEncoder();

/** Absurd values for a number or any other JSON field. */
const ODD_VALUES: Json[] = [
  0, -1, 0.5, 1.5, -0.5, 1e12, -1e12, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, 'NaN', 'Infinity', '-Infinity', '1', '', 'x',
  [], [1], {}, { '0': 1 }, null, true, false,
];

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function split(bytes: Uint8Array): Parts {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, Json>;
  return { entries: Object.entries(header), data: bytes.subarray(8 + n) };
}

/** Header text and data as a file; the length field is the padded header's unless given. */
export function assemble(header: string | Uint8Array, data: Uint8Array, lengthField?: bigint): Uint8Array {
  const json = typeof header === 'string' ? enc.encode(header) : header;
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length).fill(0x20, 8 + json.length, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(padded), true);
  out.set(json, 8);
  out.set(data, 8 + padded);
  return out;
}

/** Entries as header text, keeping their order (and any duplicate names). */
function headerText(entries: readonly Entry[]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

const build = (p: Parts): Uint8Array => assemble(headerText(p.entries), p.data);
const tensorsOf = (p: Parts) => p.entries.filter(([k]) => k !== '__metadata__') as [string, { [k: string]: Json }][];
const metadataOf = (p: Parts) => (p.entries.find(([k]) => k === '__metadata__')?.[1] ?? {}) as Record<string, string>;

function headerLength(p: Parts, rng: Rng): [string, Uint8Array] {
  const file = build(p), n = Number(new DataView(file.buffer).getBigUint64(0, true));
  const choices: [string, bigint][] = [
    ['zero', 0n], ['one', 1n], ['minus one', BigInt(n - 1)], ['plus one', BigInt(n + 1)], ['plus eight', BigInt(n + 8)],
    ['odd', BigInt(n | 1)], ['file length', BigInt(file.length)], ['past the end', BigInt(file.length + 1)],
    ['2^32', 2n ** 32n], ['2^53', 2n ** 53n], ['2^64-1', 2n ** 64n - 1n], ['high word set', BigInt(n) + (1n << 40n)],
    ['random 32-bit', BigInt(rng.int(2 ** 32))], ['half', BigInt(n >> 1)],
  ];
  const [what, value] = pick(rng, choices);
  const out = file.slice();
  new DataView(out.buffer).setBigUint64(0, value, true);
  return [what, out];
}

function headerJson(p: Parts, rng: Rng): [string, Uint8Array] {
  const text = headerText(p.entries), at = rng.int(text.length);
  const choices: [string, () => string | Uint8Array][] = [
    ['truncated', () => text.slice(0, at)],
    ['character replaced', () => text.slice(0, at) + pick(rng, ['{', '}', '[', ']', '"', ',', ':', '0', '\\', ' ', 'x', '\u0000']) + text.slice(at + 1)],
    ['garbage inserted', () => text.slice(0, at) + pick(rng, ['}}', ',,', 'null', '"', '\\u', '1e999']) + text.slice(at)],
    ['not an object', () => pick(rng, ['[]', 'null', '1', '"x"', 'true', '[{}]'])],
    ['empty object', () => '{}'],
    ['invalid UTF-8', () => { const b = enc.encode(text); b[at % b.length] = 0xff; return b; }],
    ['BOM first', () => `\ufeff${text}`],
    ['deeply nested', () => `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['duplicate name', () => {
      const [name, info] = pick(rng, tensorsOf(p));
      return `${text.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify({ ...info, data_offsets: [0, 0] })}}`;
    }],
  ];
  const [what, make] = pick(rng, choices);
  return [what, assemble(make(), p.data)];
}

function tensorList(p: Parts, rng: Rng): [string, Uint8Array] {
  const tensors = tensorsOf(p), i = rng.int(tensors.length), [name, info] = tensors[i]!;
  const others = p.entries.filter(([k]) => k !== name);
  const offs = info['data_offsets'] as [number, number];
  const choices: [string, () => Uint8Array][] = [
    ['entry removed, its data kept', () => build({ ...p, entries: others })],
    ['entry and its data removed', () => {
      const cut = offs[1] - offs[0];
      const moved = others.map(([k, v]): Entry => {
        if (k === '__metadata__') return [k, v];
        const o = (v as { data_offsets: [number, number] }).data_offsets;
        return [k, { ...(v as object), data_offsets: o[0] >= offs[1] ? [o[0] - cut, o[1] - cut] : o }];
      });
      const data = new Uint8Array(p.data.length - cut);
      data.set(p.data.subarray(0, offs[0]));
      data.set(p.data.subarray(offs[1]), offs[0]);
      return build({ entries: moved, data });
    }],
    ['extra tensor appended', () => {
      const extra = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
      const data = new Uint8Array(p.data.length + 12);
      data.set(p.data);
      data.set(extra, p.data.length);
      const entries: Entry[] = [...p.entries, [pick(rng, ['extra.weight', 'optim.m.head.bias', '__proto__', 'constructor']), { dtype: 'F32', shape: [3], data_offsets: [p.data.length, p.data.length + 12] }]];
      return build({ entries, data });
    }],
    ['renamed', () => {
      const to = pick(rng, ['x', '', '__proto__', 'toString', 'a\nb', 'n'.repeat(HUGE_STRING_CHARS), name.toUpperCase(), `${name}.`]);
      return build({ ...p, entries: p.entries.map(([k, v]): Entry => [k === name ? to : k, v]) });
    }],
    ['names swapped', () => {
      const [other] = pick(rng, tensors);
      return build({ ...p, entries: p.entries.map(([k, v]): Entry => [k === name ? other : k === other ? name : k, v]) });
    }],
    ['entry not an object', () => build({ ...p, entries: p.entries.map(([k, v]): Entry => [k, k === name ? pick(rng, [null, [], 1, 'F32', true]) : v]) })],
    ['entry field removed', () => {
      const field = pick(rng, ['dtype', 'shape', 'data_offsets']);
      return build({ ...p, entries: p.entries.map(([k, v]): Entry => [k, k === name ? Object.fromEntries(Object.entries(info).filter(([f]) => f !== field)) : v]) });
    }],
  ];
  const [what, make] = pick(rng, choices);
  return [what, make()];
}

/** One field of one tensor entry replaced. */
function entryField(p: Parts, rng: Rng, field: string, values: [string, (old: Json, p: Parts) => Json][]): [string, Uint8Array] {
  const [name] = pick(rng, tensorsOf(p)), [what, make] = pick(rng, values);
  const entries = p.entries.map(([k, v]): Entry => [k, k === name ? { ...(v as object), [field]: make((v as Record<string, Json>)[field]!, p) } : v]);
  return [what, build({ ...p, entries })];
}

function dtype(p: Parts, rng: Rng): [string, Uint8Array] {
  const v = pick(rng, ['F16', 'BF16', 'F64', 'I32', 'I64', 'U8', 'BOOL', 'f32', '', 'F32 ', 'F'.repeat(1000), 123, null, [], { F32: 1 }]);
  return entryField(p, rng, 'dtype', [[`dtype ${JSON.stringify(v).slice(0, 20)}`, () => v]]);
}

function shape(p: Parts, rng: Rng): [string, Uint8Array] {
  const dim = (s: Json, f: (d: number) => Json): Json => {
    const a = (s as number[]).slice() as Json[];
    if (!a.length) return [f(1)];
    const i = rng.int(a.length);
    a[i] = f(a[i] as number);
    return a;
  };
  return entryField(p, rng, 'shape', [
    ['dim zero', (s) => dim(s, () => 0)], ['dim negative', (s) => dim(s, () => -1)], ['dim fractional', (s) => dim(s, (d) => d + 0.5)],
    ['dim huge', (s) => dim(s, () => pick(rng, [1e12, 2 ** 53, 2 ** 60, 1e308]))], ['dim plus one', (s) => dim(s, (d) => d + 1)],
    ['dim wrong type', (s) => dim(s, () => pick(rng, ['2', null, [2], true]))],
    ['product overflows', () => pick(rng, [[2 ** 32, 2 ** 32], [2 ** 26, 2 ** 26, 2 ** 26], [0, 2 ** 60, 2 ** 60], [1e200, 1e200, 0]])],
    ['dims swapped', (s) => [...(s as number[])].reverse()], ['flattened', (s) => [(s as number[]).reduce((a, b) => a * b, 1)]],
    ['extra dim', (s) => [...(s as number[]), 1]], ['scalar', () => []], ['not an array', () => pick(rng, [null, 4, '4', {}])],
    ['very long', () => new Array(100_000).fill(1)],
  ]);
}

function offsets(p: Parts, rng: Rng): [string, Uint8Array] {
  const n = p.data.length;
  return entryField(p, rng, 'data_offsets', [
    ['reversed', (o) => [...(o as number[])].reverse()], ['end past data', (o) => [(o as number[])[0]!, n + 4]],
    ['both past data', () => [n + 4, n + 8]], ['shifted by 4', (o) => (o as number[]).map((x) => x + 4)],
    ['shifted back by 4', (o) => (o as number[]).map((x) => x - 4)], ['overlap start', (o) => [0, (o as number[])[1]! - (o as number[])[0]!]],
    ['gap', (o) => (o as number[]).map((x) => x + 8)], ['negative', () => [-4, 0]], ['fractional', (o) => (o as number[]).map((x) => x + 0.5)],
    ['huge', () => [2 ** 53, 2 ** 53 + 4]], ['wrong arity', () => pick(rng, [[], [0], [0, 4, 8]])], ['wrong type', () => pick(rng, [null, '0,4', { 0: 0, 1: 4 }, ['0', '4']])],
  ]);
}

/** One metadata entry replaced (undefined: removed), keeping everything else. */
function withMetadata(p: Parts, key: string, value: string | undefined): Uint8Array {
  const meta = { ...metadataOf(p) };
  if (value === undefined) delete meta[key];
  else meta[key] = value;
  return build({ ...p, entries: p.entries.map(([k, v]): Entry => [k, k === '__metadata__' ? meta : v]) });
}

function config(p: Parts, rng: Rng): [string, Uint8Array] {
  const cfg = JSON.parse(metadataOf(p)['config']!) as Record<string, Json>;
  const key = rng.uniform() < 0.9 ? pick(rng, Object.keys(cfg)) : pick(rng, ['unknown_field', '__proto__', 'constructor']);
  if (rng.uniform() < 0.1) {
    const whole = pick(rng, [undefined, '', '[]', 'null', '1', '"x"', '{', '{"a":1}', 'NaN']);
    return [`config ${JSON.stringify(whole) ?? 'removed'}`, withMetadata(p, 'config', whole)];
  }
  if (rng.uniform() < 0.1) {
    const rest = { ...cfg };
    delete rest[key];
    return [`${key} removed`, withMetadata(p, 'config', JSON.stringify(rest))];
  }
  const value = rng.uniform() < 0.05 ? 'z'.repeat(HUGE_STRING_CHARS) : pick(rng, ODD_VALUES);
  // by hand, so that '__proto__' stays a key of the JSON object
  const text = `{${Object.entries(cfg).filter(([k]) => k !== key).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).concat(`${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
  return [`${key} = ${JSON.stringify(value).slice(0, 20)}`, withMetadata(p, 'config', text)];
}

/** Metadata keys holding lists: vocabularies, labels, tags, the tagger's baseline. */
const LIST_KEYS = ['vocab', 'source_vocab', 'target_vocab', 'labels', 'tags', 'baseline'];
const OBJECT_KEYS = ['tokenizer', 'source_tokenizer', 'target_tokenizer'];

function vocab(p: Parts, rng: Rng): [string, Uint8Array] {
  const meta = metadataOf(p), keys = [...LIST_KEYS, ...OBJECT_KEYS].filter((k) => k in meta);
  if (!keys.length) return ['vocab added to a model without one', withMetadata(p, 'vocab', '["<unk>","a"]')];
  const key = pick(rng, keys);
  if (OBJECT_KEYS.includes(key)) {
    const t = pick(rng, ['{"units":"bytes","lowercase":false}', '{"units":"chars","lowercase":"yes"}', '{"units":"words"}', 'null', '[]', '"chars"', '{', '{"units":["chars"],"lowercase":true}']);
    return [`${key} = ${t}`, withMetadata(p, key, t)];
  }
  const list = JSON.parse(meta[key]!) as Json[], i = rng.int(list.length || 1);
  const choices: [string, () => Json[] | string][] = [
    ['empty', () => []], ['duplicate entry', () => [...list, list[i] ?? 'a']], ['last removed', () => list.slice(0, -1)],
    ['entry added', () => [...list, pick(rng, ['zz', '\u{1F600}', 9])]], ['entry not a string', () => list.map((v, j) => (j === i ? pick(rng, [1, null, [], {}, true, -1, 0.5, 1e12]) : v))],
    ['entry empty', () => list.map((v, j) => (j === i ? '' : v))], ['entry long', () => list.map((v, j) => (j === i ? 'long'.repeat(1000) : v))],
    ['huge list', () => Array.from({ length: 200_000 }, (_, j) => (typeof list[0] === 'number' ? 0 : `t${j}`))],
    ['not a list', () => pick(rng, ['"abc"', '{}', 'null', '3', '['])],
  ];
  const [what, make] = pick(rng, choices), v = make();
  return [`${key}: ${what}`, withMetadata(p, key, typeof v === 'string' ? v : JSON.stringify(v))];
}

function metadata(p: Parts, rng: Rng): [string, Uint8Array] {
  const meta = metadataOf(p);
  const choices: [string, () => Uint8Array][] = [
    ['format removed', () => withMetadata(p, 'format', undefined)],
    ['format changed', () => withMetadata(p, 'format', pick(rng, ['rnnkit/2', '', 'rnnkit/1 ', 'RNNKIT/1', 'rnnkit/1\n']))],
    ['kind removed', () => withMetadata(p, 'kind', undefined)],
    ['kind changed', () => withMetadata(p, 'kind', pick(rng, ['charlm', 'classifier', 'tagger', 'generator', 'seq2seq', 'lm', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'a\nb']))],
    ['key removed', () => withMetadata(p, pick(rng, Object.keys(meta)), undefined)],
    ['huge string', () => withMetadata(p, pick(rng, [...Object.keys(meta), 'notes']), 'm'.repeat(HUGE_STRING_CHARS))],
    ['train state odd', () => withMetadata(p, 'train', pick(rng, ['{', 'null', '[]', '"x"', '{"trainer":"x"}', '{"trainer":{"epoch":1,"pos":2}}', '1e999']))],
    ['not an object', () => build({ ...p, entries: p.entries.map(([k, v]): Entry => [k, k === '__metadata__' ? pick(rng, [null, [], 'x', 1]) : v]) })],
    ['value not a string', () => build({ ...p, entries: p.entries.map(([k, v]): Entry => [k, k === '__metadata__' ? { ...(v as object), config: JSON.parse(meta['config']!) as Json } : v]) })],
  ];
  const [what, make] = pick(rng, choices);
  return [what, make()];
}

function byteFlip(bytes: Uint8Array, rng: Rng): [string, Uint8Array] {
  const out = bytes.slice(), n = 1 + rng.int(8);
  const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const inHeader = rng.uniform() < 0.7;
  for (let k = 0; k < n; k++) {
    const i = inHeader ? rng.int(headerEnd) : headerEnd + rng.int(Math.max(1, bytes.length - headerEnd));
    if (i < out.length) out[i]! ^= 1 << rng.int(8);
  }
  return [`${n} bit(s) flipped in the ${inHeader ? 'header' : 'data'}`, out];
}

function truncate(bytes: Uint8Array, rng: Rng): [string, Uint8Array] {
  const r = rng.uniform();
  if (r < 0.1) return ['empty', new Uint8Array(0)];
  if (r < 0.2) {
    const out = new Uint8Array(bytes.length + 1 + rng.int(64));
    out.set(bytes);
    return ['bytes appended', out];
  }
  const at = rng.int(bytes.length);
  return [at < 8 ? 'cut in the length field' : 'cut', bytes.slice(0, at)];
}

/** One mutation of a valid checkpoint's bytes, of the given kind (or one drawn at random). */
export function mutateCheckpoint(bytes: Uint8Array, rng: Rng, kind: MutationKind = pick(rng, MUTATION_KINDS)): Mutant {
  const p = split(bytes);
  const [what, out] = {
    'header-length': () => headerLength(p, rng), 'header-json': () => headerJson(p, rng), 'tensor-list': () => tensorList(p, rng),
    dtype: () => dtype(p, rng), shape: () => shape(p, rng), offsets: () => offsets(p, rng), config: () => config(p, rng),
    vocab: () => vocab(p, rng), metadata: () => metadata(p, rng), 'byte-flip': () => byteFlip(bytes, rng), truncate: () => truncate(bytes, rng),
  }[kind]();
  return { kind, what, bytes: out };
}
