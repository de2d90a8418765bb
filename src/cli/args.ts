/** Commander's argument parsers, for every command line here: `dcgan`, `dcgan-server`, `npm run stress`. */
import { InvalidArgumentError } from "commander";

export function kebab(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * A commander argument parser for training settings: text that is no number becomes
 * NaN, which the config's check refuses with the setting's own message, alongside
 * every other invalid flag (commander would stop at the first).
 */
export function number(value: string): number {
  return value.trim() === "" ? Number.NaN : Number(value);
}

/** A parser that refuses anything but a whole number from `min` to `max` (no upper bound when absent). */
export function integerFrom(min: number, max = Number.POSITIVE_INFINITY): (value: string) => number {
  const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
  return (value) => {
    const n = number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer ${range}`);
    return n;
  };
}

/** A parser that takes one of `names`, in any case, as written there. */
export function oneOf<T extends string>(names: readonly T[]): (value: string) => T {
  return (value) => {
    const name = names.find((n) => n.toUpperCase() === value.toUpperCase());
    if (name === undefined) throw new InvalidArgumentError(`one of ${names.join(", ")}`);
    return name;
  };
}
