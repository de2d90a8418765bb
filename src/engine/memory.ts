import { discriminatorLayers, generatorLayers, type Layer, type ModelShape, parameterShapes } from "./models.js";

const FLOAT_BYTES = 4;
/**
 * Measured with tf.profile over one iteration (cpu and wasm allocate alike): each
 * parameter peaks at ~21 floats (itself, Adam's two moments, its gradient and the
 * update's temporaries), each activation value at ~4-6 (D's three passes, gradients).
 */
const FLOATS_PER_PARAMETER = 24;
const FLOATS_PER_ACTIVATION = 6;

/** Values the layers output per image, following the spatial size through the strides. */
function activationsPerImage(layers: Layer[], inputSize: number): number {
  let size = inputSize;
  let channels = 0;
  let total = 0;
  for (const layer of layers) {
    if (layer.kind === "conv" || layer.kind === "convTranspose") {
      channels = layer.outChannels;
      if (layer.stride === 2) size = layer.kind === "conv" ? size / 2 : size * 2;
      else size = layer.kind === "conv" ? 1 : 4; // the 'valid' 4x4 <-> 1x1 ends
    }
    total += channels * size * size;
  }
  return total;
}

function parameterCount(layers: Layer[]): number {
  return [...parameterShapes(layers).values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
}

/** Peak bytes of tensors a training iteration holds: an upper estimate, for refusing runs early. */
export function estimateTrainingBytes(shape: ModelShape & { batchSize: number }): number {
  const g = generatorLayers(shape);
  const d = discriminatorLayers(shape);
  const parameters = parameterCount(g) + parameterCount(d);
  const activations = shape.batchSize * (activationsPerImage(g, 1) + activationsPerImage(d, shape.imageSize));
  return (FLOATS_PER_PARAMETER * parameters + FLOATS_PER_ACTIVATION * activations) * FLOAT_BYTES;
}

/**
 * Per value G's layers output, all held at once until the tidy ends: tf.profile counts
 * ~1.05-1.1 floats of tensors (BatchNorm's temporaries included); the process grows by
 * ~1.45 (peak RSS of `dcgan generate` from 64 to 256 images of the tutorial's model,
 * wasm and webgpu alike), with the backend's own copies and the images read back.
 */
const FLOATS_PER_GENERATED_ACTIVATION = 1.5;
/**
 * A checkpoint restores both networks and Adam's two moments per parameter, as
 * JavaScript arrays and again as tensors.
 */
const CHECKPOINT_COPIES = 6;

/** Peak bytes rendering `count` images from a checkpoint takes: an upper estimate, for refusing requests early. */
export function estimateGenerationBytes(shape: ModelShape, count: number): number {
  const g = generatorLayers(shape);
  const parameters = parameterCount(g) + parameterCount(discriminatorLayers(shape));
  return (CHECKPOINT_COPIES * parameters + FLOATS_PER_GENERATED_ACTIVATION * count * activationsPerImage(g, 1)) * FLOAT_BYTES;
}

/** How JavaScript, WebAssembly and TensorFlow report an allocation that cannot be made. */
const ALLOCATION_FAILURE = /allocation failed|invalid (typed )?array (buffer )?length|out of memory|\bOOM\b|cannot enlarge memory|maximum memory size exceeded/i;

/** Training needed more memory than the machine (or the backend) could give. */
export class OutOfMemoryError extends Error {
  constructor(cause: Error) {
    super(`ran out of memory (${cause.message}): lower batchSize, imageSize, ngf or ndf`, { cause });
    this.name = "OutOfMemoryError";
  }
}

/** `err` as an OutOfMemoryError when it reports a failed allocation. */
export function asOutOfMemory(err: unknown): OutOfMemoryError | undefined {
  return err instanceof Error && !(err instanceof OutOfMemoryError) && ALLOCATION_FAILURE.test(err.message) ? new OutOfMemoryError(err) : undefined;
}
