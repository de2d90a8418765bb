import * as tf from "@tensorflow/tfjs-core";

/**
 * Training's memory-bound layers as single kernels, where the active backend has them
 * (the wasm backend with the native kernels, native-kernels.ts): each is one pass over
 * the data instead of the dozen of tfjs's composite ops, which on the CPU cost as much
 * as the convolutions. Elsewhere the same maths runs as composite ops.
 */
export const TRAINING_KERNELS = {
  /** (x, gamma, beta; epsilon, slope) -> [y, batch mean, biased batch variance], y through LeakyReLU(slope) unless slope is NO_ACTIVATION */
  batchNorm: "DcganBatchNormTraining",
  /** (dy, x, gamma, beta, mean, variance; epsilon, slope) -> [dx, dgamma, dbeta] */
  batchNormGradient: "DcganBatchNormGradient",
  /** (dy, x; alpha) -> dx */
  leakyReluGradient: "DcganLeakyReluGradient",
  /** (param, grad, m, v; AdamStep) -> [param, m, v] */
  adam: "DcganAdam",
  /** (dy, y) -> dx, from tanh's output y */
  tanhGradient: "DcganTanhGradient",
  /** (runningMean, runningVariance, mean, variance; momentum, count) -> [runningMean, runningVariance] */
  runningStatistics: "DcganRunningStatistics",
} as const;

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** The slope of a LeakyReLU that changes nothing (max(z, 0) + 1 * min(z, 0) = z): BatchNorm without an activation. */
export const NO_ACTIVATION = 1;

export interface BatchNormOptions {
  /**
   * The LeakyReLU that follows (0: ReLU), run in BatchNorm's own passes where the backend
   * has the kernels: the activation's pass over the data, and its gradient's, are saved.
   */
  slope?: number;
  /** Sees the batch's statistics; they end with this op's scope unless it keeps them (tf.keep). */
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

/**
 * Training-mode BatchNorm (PyTorch's), then an optional LeakyReLU: normalised with the
 * batch's mean and biased variance, differentiable with respect to x, gamma and beta.
 */
export function batchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, { slope = NO_ACTIVATION, onStats }: BatchNormOptions = {}): tf.Tensor4D {
  // Without the kernels the activation runs after BatchNorm's composite ops.
  const kernelSlope = hasKernel(TRAINING_KERNELS.batchNorm) ? slope : NO_ACTIVATION;
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, scale, offset, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, mean, variance] = batchNormForward(input, scale, offset, epsilon, kernelSlope);
    onStats?.(mean, variance);
    save([input, scale, offset, mean, variance]);
    return {
      value: y,
      gradFunc: (dy, saved) => batchNormGradients(dy as tf.Tensor4D, saved as BatchNormSaved, epsilon, kernelSlope),
    };
  });
  const y = normalise(x, gamma, beta) as tf.Tensor4D;
  return kernelSlope === slope ? y : leakyRelu(y, slope);
}

type BatchNormSaved = [x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, mean: tf.Tensor1D, variance: tf.Tensor1D];

function batchNormForward(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, slope: number): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D] {
  if (hasKernel(TRAINING_KERNELS.batchNorm)) {
    return tf.engine().runKernel(TRAINING_KERNELS.batchNorm, { x, gamma, beta }, { epsilon, slope }) as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2]) as { mean: tf.Tensor1D; variance: tf.Tensor1D };
  return [tf.batchNorm4d(x, mean, variance, beta, gamma, epsilon), mean, variance];
}

/**
 * The gradients of training-mode BatchNorm in closed form (as PyTorch computes them),
 * per channel over the m = N*H*W values:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat), dx = gamma * invStd / m * (m * dy - dbeta - xhat * dgamma).
 * tfjs's own gradient tiles every statistic to the input's shape, which on wasm costs
 * more than the convolutions. The kernel first takes dy back through the fused
 * activation; the composite ops never have one (batchNormTraining runs it after them).
 */
function batchNormGradients(dy: tf.Tensor4D, [x, gamma, beta, mean, variance]: BatchNormSaved, epsilon: number, slope: number): tf.Tensor[] {
  if (hasKernel(TRAINING_KERNELS.batchNormGradient)) {
    return tf.engine().runKernel(TRAINING_KERNELS.batchNormGradient, { dy, x, gamma, beta, mean, variance }, { epsilon, slope }) as tf.Tensor[];
  }
  const [n, h, w] = x.shape;
  const m = n * h * w;
  const invStd = tf.rsqrt(tf.add(variance, epsilon));
  const xhat = tf.mul(tf.sub(x, mean), invStd);
  const dbeta = tf.sum(dy, [0, 1, 2]);
  const dgamma = tf.sum(tf.mul(dy, xhat), [0, 1, 2]);
  const dx = tf.mul(tf.sub(tf.sub(tf.mul(dy, m), dbeta), tf.mul(xhat, dgamma)), tf.div(tf.mul(gamma, invStd), m));
  return [dx, dgamma, dbeta];
}

/** One Adam step's constants: the learning rate and both corrections for this step's bias. */
export interface AdamStep {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  bias2Sqrt: number;
}

/**
 * torch.optim.Adam's update of one parameter, with its moments:
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,  p -= stepSize * m / (sqrt(v) / bias2Sqrt + eps).
 */
export function adamUpdate(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: AdamStep): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (hasKernel(TRAINING_KERNELS.adam)) {
    return tf.engine().runKernel(TRAINING_KERNELS.adam, { param, grad, m, v }, { ...step }) as [tf.Tensor, tf.Tensor, tf.Tensor];
  }
  const { beta1, beta2, eps, stepSize, bias2Sqrt } = step;
  const newM = tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1));
  const newV = tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2));
  const denom = tf.add(tf.div(tf.sqrt(newV), bias2Sqrt), eps);
  return [tf.sub(param, tf.mul(tf.div(newM, denom), stepSize)), newM, newV];
}

/**
 * An elementwise activation whose gradient is `gradientKernel` where the backend has it:
 * the kernel takes dy and, as `from`, the activation's input ("x") or output ("y").
 * Elsewhere tfjs differentiates `activation` itself.
 */
function withGradientKernel(x: tf.Tensor4D, activation: (t: tf.Tensor4D) => tf.Tensor4D, gradientKernel: string, from: "x" | "y", attrs: tf.NamedAttrMap = {}): tf.Tensor4D {
  if (!hasKernel(gradientKernel)) return activation(x);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const y = activation(input);
    save([from === "x" ? input : y]);
    return {
      value: y,
      gradFunc: (dy, [saved]) => tf.engine().runKernel(gradientKernel, { dy: dy as tf.Tensor, [from]: saved! }, attrs) as tf.Tensor,
    };
  });
  return f(x) as tf.Tensor4D;
}

/** LeakyReLU whose gradient is one kernel where the backend has it (tfjs's is Greater, Select and Multiply). */
export function leakyRelu(x: tf.Tensor4D, alpha: number): tf.Tensor4D {
  return withGradientKernel(x, (t) => tf.leakyRelu(t, alpha), TRAINING_KERNELS.leakyReluGradient, "x", { alpha });
}

/**
 * ReLU as LeakyReLU with slope 0: the same values and the same gradient (0 at x = 0, as
 * in PyTorch), and where the backend has the native kernels one pass each way instead of
 * tfjs's Relu, then Step, Cast and Multiply for its gradient.
 */
export function relu(x: tf.Tensor4D): tf.Tensor4D {
  return leakyRelu(x, 0);
}

/** Tanh whose gradient is one kernel where the backend has it (tfjs's is Square, Sub and Multiply). */
export function tanh(x: tf.Tensor4D): tf.Tensor4D {
  return withGradientKernel(x, (t) => tf.tanh(t), TRAINING_KERNELS.tanhGradient, "y");
}

/**
 * PyTorch's running-statistics update after a training-mode BatchNorm pass over `count`
 * values per channel: running = (1 - momentum) * running + momentum * batch, the
 * variance unbiased. One kernel where the backend has it, instead of seven tiny ones
 * whose dispatch costs more than their arithmetic.
 */
export function runningStatistics(
  runningMean: tf.Tensor1D,
  runningVariance: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  momentum: number,
  count: number,
): [tf.Tensor1D, tf.Tensor1D] {
  if (hasKernel(TRAINING_KERNELS.runningStatistics)) {
    return tf.engine().runKernel(TRAINING_KERNELS.runningStatistics, { runningMean, runningVariance, mean, variance }, { momentum, count }) as [tf.Tensor1D, tf.Tensor1D];
  }
  const unbiased = tf.mul(variance, count / (count - 1));
  return [tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(mean, momentum)), tf.add(tf.mul(runningVariance, 1 - momentum), tf.mul(unbiased, momentum))];
}
