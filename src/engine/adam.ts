import * as tf from "@tensorflow/tfjs-core";
import { adamUpdate, type AdamStep } from "./training-ops.js";

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** Moments and step count, as a checkpoint stores them. */
export interface AdamState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/**
 * torch.optim.Adam's update, which differs from tf.train.adam in where epsilon sits:
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), with eps 1e-8.
 */
export class Adam {
  private step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: Map<string, tf.Variable>,
    readonly settings: AdamSettings,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** One step; `grads` is keyed by the variables' tfjs names, as tf.variableGrads returns them. */
  apply(grads: tf.NamedTensorMap): void {
    this.step++;
    const { lr, beta1, beta2, eps } = this.settings;
    const step: AdamStep = { beta1, beta2, eps, stepSize: lr / (1 - beta1 ** this.step), bias2Sqrt: Math.sqrt(1 - beta2 ** this.step) };
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads[p.name];
        if (!g) throw new Error(`no gradient for ${name}`);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const [newP, newM, newV] = adamUpdate(p, g, m, v, step);
        m.assign(newM);
        v.assign(newV);
        p.assign(newP);
      }
    });
  }

  async state(): Promise<AdamState> {
    const read = async (vars: Map<string, tf.Variable>) => {
      const out = new Map<string, Float32Array>();
      for (const [name, t] of vars) out.set(name, (await t.data()) as Float32Array);
      return out;
    };
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  load(state: AdamState): void {
    this.step = state.step;
    for (const [moments, values] of [
      [this.m, state.m],
      [this.v, state.v],
    ] as const) {
      for (const [name, t] of moments) {
        const value = values.get(name);
        if (!value) throw new Error(`optimizer state lacks ${name}`);
        tf.tidy(() => t.assign(tf.tensor(value, t.shape)));
      }
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
