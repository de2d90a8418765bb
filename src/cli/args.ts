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

export function integerFrom(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
}
