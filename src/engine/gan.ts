import * as tf from "@tensorflow/tfjs-core";
import { Adam, type AdamSettings } from "./adam.js";
import { bce } from "./loss.js";
import {
  type BatchMoments,
  discriminatorLayers,
  forward,
  generatorLayers,
  initialValues,
  type ModelShape,
  Network,
  updateRunningStats,
} from "./models.js";
import { Rng } from "./rng.js";

/** What the tutorial logs for one iteration, plus the two halves of Loss_D. */
export interface StepMetrics {
  errDReal: number;
  errDFake: number;
  /** Loss_D = errD_real + errD_fake. */
  lossD: number;
  /** Loss_G = errG. */
  lossG: number;
  /** D(x): mean output of D on the real batch. */
  dX: number;
  /** D(G(z)) on the detached fakes, before D's step. */
  dGz1: number;
  /** D(G(z)) on the same fakes after D's step, in G's step. */
  dGz2: number;
}

/** Generator, discriminator and their optimizers: everything an iteration changes. */
export class Gan {
  constructor(
    readonly G: Network,
    readonly D: Network,
    readonly optG: Adam,
    readonly optD: Adam,
  ) {}

  /** Fresh networks with the tutorial's initialisation, drawn from the seed. */
  static create(shape: ModelShape, optimizer: Pick<AdamSettings, "lr" | "beta1">, seed: number): Gan {
    const rng = Rng.stream(seed, "init");
    const gLayers = generatorLayers(shape);
    const dLayers = discriminatorLayers(shape);
    return Gan.fromValues(shape, optimizer, initialValues(gLayers, rng), initialValues(dLayers, rng));
  }

  static fromValues(
    shape: ModelShape,
    optimizer: Pick<AdamSettings, "lr" | "beta1">,
    gValues: Map<string, Float32Array>,
    dValues: Map<string, Float32Array>,
  ): Gan {
    const settings: AdamSettings = { ...optimizer, beta2: 0.999, eps: 1e-8 };
    const G = new Network(generatorLayers(shape), gValues);
    const D = new Network(discriminatorLayers(shape), dValues);
    return new Gan(G, D, new Adam(G.params, settings), new Adam(D.params, settings));
  }

  /**
   * One iteration of the tutorial's loop on a real batch (NHWC in [-1, 1]) and a
   * noise batch ([N, nz]).
   *
   * G runs forward once, as in PyTorch: the whole iteration sits inside the tape of
   * G's gradient, and D's step runs with that tape paused (PyTorch's detach), so the
   * G gradient sees exactly PyTorch's graph: the fakes through the updated D.
   */
  async step(real: tf.Tensor4D, noise: tf.Tensor2D): Promise<StepMetrics> {
    const { G, D, optG, optD } = this;
    const reported = new Map<keyof StepMetrics, tf.Scalar>();
    const report = (name: keyof StepMetrics, t: tf.Scalar) => reported.set(name, tf.keep(t));

    const { grads: gGrads } = tf.variableGrads(() => {
      const gMoments: BatchMoments[] = [];
      const fake = forward(G, asImage(noise), {
        stats: "batch",
        onMoments: (m) => gMoments.push(m),
      });
      updateRunningStats(G, gMoments);

      // (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
      const dMoments: BatchMoments[] = [];
      const collectD = { stats: "batch", onMoments: (m: BatchMoments) => dMoments.push(m) } as const;
      const { grads: dGrads } = offTape(() => tf.variableGrads(() => {
        const outReal = flat(forward(D, real, collectD));
        const errDReal = bce(outReal, 1);
        // Only D's variables are differentiated: the fakes are detached here.
        const outFake = flat(forward(D, fake, collectD));
        const errDFake = bce(outFake, 0);
        const errD = tf.add(errDReal, errDFake) as tf.Scalar;
        report("errDReal", errDReal);
        report("errDFake", errDFake);
        report("lossD", errD);
        report("dX", tf.mean(outReal));
        report("dGz1", tf.mean(outFake));
        // Here, not after the step: the moments are disposed with this scope.
        updateRunningStats(D, dMoments);
        return errD;
      }, [...D.params.values()]));
      offTape(() => optD.apply(dGrads));
      tf.dispose(dGrads);

      // (2) Update G network: maximize log(D(G(z))), against the updated D
      const gStepMoments: BatchMoments[] = [];
      const output = flat(forward(D, fake, { stats: "batch", onMoments: (m) => gStepMoments.push(m) }));
      const errG = bce(output, 1);
      updateRunningStats(D, gStepMoments);
      report("lossG", errG);
      report("dGz2", tf.mean(output));
      return errG;
    }, [...G.params.values()]);
    optG.apply(gGrads);
    tf.dispose(gGrads);

    // One read-back per iteration: the only point where training waits for the backend.
    const names = [...reported.keys()];
    const all = tf.stack([...reported.values()]);
    const values = await all.data();
    tf.dispose([all, ...reported.values()]);
    const value = (name: keyof StepMetrics): number => {
      const at = names.indexOf(name);
      if (at < 0) throw new Error(`${name} was not reported`);
      return values[at]!;
    };
    return {
      errDReal: value("errDReal"),
      errDFake: value("errDFake"),
      lossD: value("lossD"),
      lossG: value("lossG"),
      dX: value("dX"),
      dGz1: value("dGz1"),
      dGz2: value("dGz2"),
    };
  }

  /**
   * G's images for a noise batch, NHWC in [-1, 1]. By default as the tutorial renders
   * its grids, BatchNorm on the batch's own statistics (without updating the running
   * ones); `inference` uses the running statistics instead.
   */
  async generate(noise: tf.Tensor2D, inference = false): Promise<Float32Array> {
    const images = tf.tidy(() =>
      forward(this.G, asImage(noise), {
        stats: inference ? "running" : "batch",
      }),
    );
    const data = (await images.data()) as Float32Array;
    images.dispose();
    return data;
  }

  dispose(): void {
    for (const part of [this.G, this.D, this.optG, this.optD]) part.dispose();
  }
}

/**
 * Runs `f` as if no gradient were being recorded: its operations stay off the
 * enclosing tape (which would otherwise keep every tensor they save alive until the
 * outer gradient ends, doubling peak memory), and a gradient computed inside starts a
 * tape of its own. tfjs has no public tape pause, so this saves and restores the
 * engine's tape state around `f`.
 */
function offTape<T>(f: () => T): T {
  const state = tf.engine().state;
  const { gradientDepth, activeTape } = state;
  state.gradientDepth = 0;
  try {
    return f();
  } finally {
    state.gradientDepth = gradientDepth;
    state.activeTape = activeTape;
  }
}

/** Noise [N, nz] as the 1x1 images G's first transposed convolution takes. */
export function asImage(noise: tf.Tensor2D): tf.Tensor4D {
  return tf.reshape(noise, [noise.shape[0], 1, 1, noise.shape[1]]);
}

/** D's [N, 1, 1, 1] probabilities as [N]. */
function flat(probabilities: tf.Tensor): tf.Tensor1D {
  return tf.reshape(probabilities, [-1]);
}
