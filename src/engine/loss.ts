import * as tf from "@tensorflow/tfjs-core";

/** PyTorch's BCELoss clamps each log term at -100 rather than letting it reach -inf. */
const LOG_FLOOR = -100;
/** PyTorch's binary_cross_entropy_backward divides by max((1 - p) p, 1e-12). */
const GRAD_EPSILON = 1e-12;

/**
 * Mean binary cross-entropy of probabilities `p` against a constant label (1 real,
 * 0 fake), with PyTorch's value and gradient: autodiff through a clamped log would
 * give NaN (0 * inf) where D saturates, PyTorch's formula stays finite.
 */
export function bce(p: tf.Tensor1D, label: 0 | 1): tf.Scalar {
  const n = p.shape[0];
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor1D, tf.GradSaveFunc];
    save([x]);
    const logTerm = label === 1 ? tf.log(x) : tf.log(tf.sub(1, x));
    return {
      value: tf.neg(tf.mean(tf.maximum(logTerm, LOG_FLOOR))) as tf.Scalar,
      gradFunc: (dy, saved) => {
        const [q] = saved as [tf.Tensor1D];
        const denom = tf.maximum(tf.mul(tf.sub(1, q), q), GRAD_EPSILON);
        return tf.mul(dy, tf.div(tf.sub(q, label), tf.mul(denom, n)));
      },
    };
  });
  return loss(p) as tf.Scalar;
}
