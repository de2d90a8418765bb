import { open, readFile } from "node:fs/promises";
import type { AdamState } from "./adam.js";
import type { ResolvedConfig } from "./config.js";
import { Gan } from "./gan.js";

/**
 * A checkpoint is one file: an 8-byte magic, a little-endian uint32 header length,
 * a JSON header (config, progress, RNG state, tensor index), zero padding to 4 bytes,
 * then every tensor as little-endian float32. It holds everything training needs to
 * continue exactly: both networks with BatchNorm statistics, both Adam states, the
 * noise RNG and the fixed noise.
 */
const MAGIC = "DCGANCK1";
const FORMAT_VERSION = 1;

export interface TrainingProgress {
  config: ResolvedConfig;
  /** Iterations completed. */
  iteration: number;
  /** Epoch of the last completed iteration (0-based). */
  epoch: number;
  /** State of the per-iteration noise stream. */
  noiseRngState: number[];
  /** The 64 noise vectors the sample grids render, drawn once per run. */
  fixedNoise: Float32Array;
}

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements from the start of the data section. */
  offset: number;
}

interface Header {
  format: typeof MAGIC;
  version: number;
  createdAt: string;
  config: ResolvedConfig;
  iteration: number;
  epoch: number;
  noiseRngState: number[];
  adamSteps: { G: number; D: number };
  tensors: TensorEntry[];
}

export interface Checkpoint extends TrainingProgress {
  createdAt: string;
  G: Map<string, Float32Array>;
  D: Map<string, Float32Array>;
  optG: AdamState;
  optD: AdamState;
}

export class CheckpointError extends Error {
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "CheckpointError";
  }
}

/**
 * The checkpoint file's bytes, as chunks to write in order: a copy of the current
 * values, so that training can go on while they are written.
 */
export async function encodeCheckpoint(gan: Gan, progress: TrainingProgress): Promise<Buffer[]> {
  const [G, D, optG, optD] = await Promise.all([gan.G.values(), gan.D.values(), gan.optG.state(), gan.optD.state()]);
  const shapes = new Map<string, number[]>();
  for (const [net, network] of [["G", gan.G], ["D", gan.D]] as const) {
    for (const [name, v] of [...network.params, ...network.buffers]) shapes.set(`${net}/${name}`, v.shape);
  }
  const named: [string, Float32Array, number[]][] = [["fixedNoise", progress.fixedNoise, [progress.fixedNoise.length]]];
  const add = (prefix: string, values: Map<string, Float32Array>, shapeOf: (name: string) => number[]) => {
    for (const [name, value] of values) named.push([`${prefix}/${name}`, value, shapeOf(name)]);
  };
  add("G", G, (n) => shapes.get(`G/${n}`)!);
  add("D", D, (n) => shapes.get(`D/${n}`)!);
  add("optG/m", optG.m, (n) => shapes.get(`G/${n}`)!);
  add("optG/v", optG.v, (n) => shapes.get(`G/${n}`)!);
  add("optD/m", optD.m, (n) => shapes.get(`D/${n}`)!);
  add("optD/v", optD.v, (n) => shapes.get(`D/${n}`)!);

  let offset = 0;
  const tensors = named.map(([name, value, shape]) => {
    const entry = { name, shape, offset };
    offset += value.length;
    return entry;
  });
  const header: Header = {
    format: MAGIC,
    version: FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    config: progress.config,
    iteration: progress.iteration,
    epoch: progress.epoch,
    noiseRngState: progress.noiseRngState,
    adamSteps: { G: optG.step, D: optD.step },
    tensors,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(padTo4(12 + headerBytes.length));
  prefix.write(MAGIC, 0, "latin1");
  prefix.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(prefix, 12);
  const data = Buffer.alloc(offset * 4);
  for (const [i, [, value]] of named.entries()) {
    // Float32Array is little-endian on every platform Node runs on.
    Buffer.from(value.buffer, value.byteOffset, value.byteLength).copy(data, tensors[i]!.offset * 4);
  }
  return [prefix, data];
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new CheckpointError(path, `cannot read checkpoint: ${(err as Error).message}`);
  }
  const { header, headerLength } = parseHeader(path, bytes);
  const dataStart = padTo4(12 + headerLength);
  const tensors = new Map<string, Float32Array>();
  for (const { name, shape, offset } of header.tensors) {
    const length = shape.reduce((a, b) => a * b, 1);
    const start = dataStart + offset * 4;
    if (start + length * 4 > bytes.length) throw new CheckpointError(path, `truncated checkpoint (tensor ${name})`);
    // Copy: the file buffer's offset need not be 4-byte aligned.
    tensors.set(name, new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + length * 4)));
  }
  const group = (prefix: string) => {
    const out = new Map<string, Float32Array>();
    for (const [name, value] of tensors) if (name.startsWith(`${prefix}/`)) out.set(name.slice(prefix.length + 1), value);
    return out;
  };
  const fixedNoise = tensors.get("fixedNoise");
  if (!fixedNoise) throw new CheckpointError(path, "checkpoint lacks the fixed noise");
  return {
    createdAt: header.createdAt,
    config: header.config,
    iteration: header.iteration,
    epoch: header.epoch,
    noiseRngState: header.noiseRngState,
    fixedNoise,
    G: group("G"),
    D: group("D"),
    optG: { step: header.adamSteps.G, m: group("optG/m"), v: group("optG/v") },
    optD: { step: header.adamSteps.D, m: group("optD/m"), v: group("optD/v") },
  };
}

/** A checkpoint's progress from its header alone, without reading its tensors. */
export async function readCheckpointProgress(path: string): Promise<Pick<TrainingProgress, "iteration" | "epoch">> {
  let prefix: Buffer;
  try {
    const file = await open(path);
    try {
      const head = Buffer.alloc(12);
      const { bytesRead } = await file.read(head, 0, 12, 0);
      // Not a checkpoint: parseHeader says so from the first bytes alone.
      const headerLength = bytesRead === 12 && head.toString("latin1", 0, 8) === MAGIC ? head.readUInt32LE(8) : 0;
      prefix = Buffer.alloc(12 + headerLength);
      await file.read(prefix, 0, prefix.length, 0);
    } finally {
      await file.close();
    }
  } catch (err) {
    throw new CheckpointError(path, `cannot read checkpoint: ${(err as Error).message}`);
  }
  const { header } = parseHeader(path, prefix);
  return { iteration: header.iteration, epoch: header.epoch };
}

/** The magic, the header's length and the JSON header at the start of a checkpoint file. */
function parseHeader(path: string, bytes: Buffer): { header: Header; headerLength: number } {
  if (bytes.length < 12 || bytes.toString("latin1", 0, 8) !== MAGIC) {
    throw new CheckpointError(path, "not a DCGAN checkpoint (bad magic)");
  }
  const headerLength = bytes.readUInt32LE(8);
  let header: Header;
  try {
    header = JSON.parse(bytes.toString("utf8", 12, 12 + headerLength)) as Header;
  } catch {
    throw new CheckpointError(path, "corrupt checkpoint header");
  }
  if (header.version !== FORMAT_VERSION) {
    throw new CheckpointError(path, `checkpoint format ${header.version} is not supported (expected ${FORMAT_VERSION})`);
  }
  return { header, headerLength };
}

/**
 * Networks and optimizers exactly as they were saved; the optimizers step with
 * `optimizer`'s lr and beta1 from here on when given (a fork's), else the checkpoint's.
 */
export function restoreGan(checkpoint: Checkpoint, optimizer: { lr: number; beta1: number } = checkpoint.config): Gan {
  const c = checkpoint.config;
  const gan = Gan.fromValues(c, { lr: optimizer.lr, beta1: optimizer.beta1 }, checkpoint.G, checkpoint.D);
  gan.optG.load(checkpoint.optG);
  gan.optD.load(checkpoint.optD);
  return gan;
}

function padTo4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
