import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import {
  xoroshiro128plus,
  xoroshiro128plusFromState,
} from "pure-rand/generator/xoroshiro128plus";
type JumpableRandomGenerator = ReturnType<typeof xoroshiro128plus>;

/**
 * A seeded random stream whose whole state can be saved in a checkpoint.
 *
 * Each purpose (weight init, noise, shuffling, synthetic images) draws from its own
 * stream, derived from the run's seed and a name, so that adding a draw to one
 * purpose never shifts another: resuming and prefetching stay deterministic.
 */
export class Rng {
  private constructor(private readonly gen: JumpableRandomGenerator) {}

  static stream(seed: number, name: string, index = 0): Rng {
    return new Rng(xoroshiro128plus(mixSeed(seed, name, index)));
  }

  static fromState(state: readonly number[]): Rng {
    return new Rng(xoroshiro128plusFromState(state));
  }

  state(): number[] {
    return [...this.gen.getState()];
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return uniformFloat64(this.gen);
  }

  /** `count` draws from N(mean, std), by the Box-Muller transform. */
  normal(count: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i += 2) {
      // 1 - u keeps the logarithm's argument in (0, 1].
      const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
      const angle = 2 * Math.PI * this.uniform();
      out[i] = mean + std * radius * Math.cos(angle);
      if (i + 1 < count) out[i + 1] = mean + std * radius * Math.sin(angle);
    }
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    return order;
  }
}

/** FNV-1a over the name, folded with the seed and index into one 32-bit seed. */
function mixSeed(seed: number, name: string, index: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${name}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (h ^ Math.imul(seed | 0, 0x9e3779b1)) | 0;
}
