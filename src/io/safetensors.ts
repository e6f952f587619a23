// Safetensors reader/writer (https://github.com/huggingface/safetensors), F32 only.
// Web-standard APIs only, so it runs in browsers as well as Node.
//
// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON header
// (space-padded so the data section starts 8-byte aligned), then raw tensor bytes.
//
// Tensor bytes are little-endian. We copy them through Float32Array views, which use
// host byte order; every platform JS runs on in practice is little-endian, so we check
// once and refuse to run on a big-endian host rather than silently corrupt data.

import { UserError } from '../core/errors.js';

export interface TensorEntry {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface DecodedSafetensors {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  metadata: Record<string, string>;
}

/** A malformed or unsupported safetensors file. Message is one line and names the source. */
export class SafetensorsError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

const METADATA_KEY = '__metadata__';
const MAX_HEADER_LEN = 100_000_000; // same limit as the reference implementation
const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!HOST_IS_LE) throw new Error('safetensors: big-endian hosts are not supported');
}

// Names come from untrusted files; keep messages on one line and short.
function q(name: string): string {
  const s = name.length > 80 ? `${name.slice(0, 77)}...` : name;
  return /[\x00-\x1f\x7f\u2028\u2029]/.test(s) ? JSON.stringify(s) : `'${s}'`;
}

function fmt(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 80 ? s.slice(0, 77) + '...' : s;
}

function isDim(d: unknown): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function encodeSafetensors(tensors: TensorEntry[], metadata: Record<string, string>): Uint8Array {
  assertLittleEndianHost();
  const seen = new Set<string>();
  const parts: string[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name === METADATA_KEY) throw new Error(`safetensors: tensor name ${q(t.name)} is reserved`);
    if (seen.has(t.name)) throw new Error(`safetensors: duplicate tensor name ${q(t.name)}`);
    seen.add(t.name);
    if (!t.shape.every(isDim)) throw new Error(`safetensors: tensor ${q(t.name)} has invalid shape ${fmt(t.shape)}`);
    const n = numel(t.shape);
    if (n !== t.data.length) {
      throw new Error(
        `safetensors: tensor ${q(t.name)} shape ${fmt(t.shape)} has ${n} elements but data has ${t.data.length}`,
      );
    }
    const end = offset + n * 4;
    // Built by hand rather than via an object so the header keeps the given order
    // (objects put integer-like keys first) and '__proto__' is an ordinary name.
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: 'F32', shape: t.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors: metadata ${q(k)} is not a string`);
  }
  parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);

  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);

  let pos = 8 + headerLen;
  for (const t of tensors) {
    // Copy via a byte view of the data (which may be a subarray of a larger buffer).
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source = 'input'): DecodedSafetensors {
  assertLittleEndianHost();
  function fail(problem: string): never {
    throw new SafetensorsError(`${source}: ${problem}`);
  }

  if (bytes.length < 8) fail(`truncated file (${bytes.length} bytes, need at least 8 for the header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rawLen = view.getBigUint64(0, true); // exact in messages, even for garbage
  const headerLen = Number(rawLen);
  if (8 + headerLen > bytes.length) {
    // A cut-off real file still starts with '{'; text or random bytes give a huge length.
    const plausible = headerLen <= MAX_HEADER_LEN && (bytes.length === 8 || bytes[8] === 0x7b);
    if (!plausible) fail(`not a safetensors file (header length ${rawLen} exceeds file size ${bytes.length})`);
    fail(`truncated file (${bytes.length} bytes, need at least 8 + header length ${rawLen})`);
  }
  if (headerLen > MAX_HEADER_LEN) fail(`not a safetensors file (header length ${rawLen} is implausibly large)`);
  if (headerLen < 2 || bytes[8] !== 0x7b /* '{' */) fail(`not a safetensors file (header does not start with '{')`);

  let headerText = '';
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    fail('header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: [string, string][] = [];
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];

  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('__metadata__ is not a JSON object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata ${q(k)} is not a string (got ${fmt(v)})`);
        metadata.push([k, v as string]);
      }
      continue;
    }
    const t = q(name);
    if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`tensor ${t} entry is not a JSON object`);
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`tensor ${t} has no dtype`);
    if (dtype !== 'F32') fail(`tensor ${t} has dtype ${/^\w{1,16}$/.test(dtype) ? dtype : fmt(dtype)}; only F32 is supported`);
    if (!Array.isArray(shape) || !shape.every(isDim)) fail(`tensor ${t} has invalid shape ${fmt(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isDim) || offs[0] > offs[1]) {
      fail(`tensor ${t} has invalid data_offsets ${fmt(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end > dataLen) fail(`tensor ${t} data_offsets [${begin},${end}] outside the data section (${dataLen} bytes)`);
    const need = numel(shape as number[]) * 4;
    if (need !== end - begin) {
      fail(`tensor ${t} shape ${fmt(shape)} needs ${need} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, shape: shape as number[], begin, end });
  }

  // Return tensors in file order; JSON object order is not reliable for integer-like names.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  // As the reference implementation requires: the tensors tile the data section, in
  // order, without gaps or overlaps, so a corrupt offset cannot alias another tensor.
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) fail(`tensor ${q(e.name)} data_offsets [${e.begin},${e.end}] ${e.begin < at ? 'overlap the tensor before' : 'leave a gap after the tensor before'} (which ends at ${at})`);
    at = e.end;
  }
  if (at !== dataLen) fail(`data section has ${dataLen - at} bytes after the last tensor (corrupt or not a safetensors file)`);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of entries) {
    // Copy bytes: the data may sit at an offset that is not 4-byte aligned.
    const data = new Float32Array((e.end - e.begin) / 4);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, { shape: [...e.shape], data });
  }
  // fromEntries defines own properties, so a key like '__proto__' stays plain data.
  return { tensors, metadata: Object.fromEntries(metadata) };
}
