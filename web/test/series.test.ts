import { describe, expect, it } from "vitest";
import { MetricSeries, smooth } from "../src/series";
import type { Metric } from "../src/types";

function metric(iteration: number): Metric {
  return { iteration, epoch: 0, lossD: iteration, lossG: 2 * iteration, dX: 0.5, dGz1: 0.4, dGz2: 0.3, imagesPerSecond: 100 };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => metric(from + i));

describe("the dashboard's metric columns", () => {
  it("append in iteration order and ignore points at or before the last one (a replay's overlap)", () => {
    const series = new MetricSeries();
    series.append(range(1, 5));
    series.append(range(4, 7));
    expect(series.iterations).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(series.columns.lossG).toEqual([2, 4, 6, 8, 10, 12, 14]);
  });

  it("stay within their cap by dropping every other point, keeping the first and the last", () => {
    const series = new MetricSeries(100);
    for (let start = 1; start <= 10_000; start += 250) series.append(range(start, start + 249));
    expect(series.length).toBeLessThanOrEqual(100);
    expect(series.length).toBeGreaterThan(50);
    expect(series.iterations[0]).toBe(1);
    expect(series.lastIteration).toBe(10_000);
    expect(series.columns.lossD).toEqual(series.iterations);
  });
});

describe("TensorBoard's smoothing", () => {
  it("leaves values alone at weight 0, and a constant series constant at any weight (debiased)", () => {
    expect(smooth([3, 1, 2], 0)).toEqual([3, 1, 2]);
    for (const v of smooth([5, 5, 5, 5], 0.9)) expect(v).toBeCloseTo(5, 12);
  });

  it("is the debiased exponential moving average", () => {
    const [a, b] = smooth([1, 3], 0.5);
    expect(a).toBeCloseTo(1, 12);
    // last = 0.5 * 0.5 + 0.5 * 3 = 1.75, debiased by 1 - 0.5^2
    expect(b).toBeCloseTo(1.75 / 0.75, 12);
  });
});
