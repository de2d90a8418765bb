/**
 * When a run's fixed-noise diversity (the engine's diversityScore, 1 - mean
 * pairwise SSIM of the grid's images) says its generator may be collapsing.
 */

/**
 * Readings left out of the peak: the first grids come from a barely trained G,
 * whose images differ by its random initialisation rather than by anything
 * learned, and often more than the trained G's ever will; a drop from them is
 * training, not collapse.
 */
export const COLLAPSE_WARMUP_SAMPLES = 2;

/**
 * A warning when the latest reading is below this share of the run's peak. Over
 * a healthy run diversity moves by some tens of percent between grids; a
 * collapsing G's falls toward 0 (all its images alike), so halving is a clear
 * sign and not a sample's noise.
 */
export const COLLAPSE_DROP_FRACTION = 0.5;

export interface DiversityReading {
  iteration: number;
  diversity: number;
}

/**
 * The warning for a run's readings in iteration order, or null when there is none.
 * An iteration read twice (a resumed run renders its grid again) counts once, by its later reading.
 */
export function collapseWarning(history: readonly DiversityReading[]): string | null {
  const readings = history.filter((r, i) => history[i + 1]?.iteration !== r.iteration);
  const counted = readings.slice(COLLAPSE_WARMUP_SAMPLES);
  if (counted.length < 2) return null;
  const latest = counted[counted.length - 1]!;
  const peak = counted.reduce((best, r) => (r.diversity > best.diversity ? r : best));
  if (!(latest.diversity < COLLAPSE_DROP_FRACTION * peak.diversity)) return null;
  return (
    `sample diversity fell to ${latest.diversity.toFixed(3)} at iteration ${latest.iteration}, ` +
    `under ${Math.round(COLLAPSE_DROP_FRACTION * 100)}% of its peak ${peak.diversity.toFixed(3)} at iteration ${peak.iteration}: ` +
    "the generator may be collapsing (its images alike)"
  );
}
