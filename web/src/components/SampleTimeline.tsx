import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Sample } from "../types";

/** What a grid's picture needs of a sample (the compare view asks for no more). */
export type Grid = Pick<Sample, "kind" | "iteration" | "epoch" | "url">;

/** A run's fixed-noise grids, oldest first. */
export function fixedNoiseGrids<T extends Grid>(samples: readonly T[]): T[] {
  return samples.filter((s) => s.kind === "FIXED_NOISE").sort((a, b) => a.iteration - b.iteration);
}

/** A grid's picture with its caption, or a placeholder saying why there is none. */
export function GridFigure({ grid, alt, id, missing, children }: { grid?: Grid; alt: string; id?: string; missing: string; children: ComponentChildren }) {
  return (
    <figure>
      {grid ? <img src={grid.url} alt={alt} class="grid-image" id={id} /> : <div class="placeholder">{missing}</div>}
      <figcaption>{children}</figcaption>
    </figure>
  );
}

/**
 * A slider over `count` positions with "k / count" beside it. The last position means
 * "the newest, and new ones as they come": picking it calls onPick with undefined.
 */
export function TimelineSlider({ count, shown, label, onPick }: { count: number; shown: number; label: string; onPick(position: number | undefined): void }) {
  return (
    <>
      <input
        type="range"
        min={0}
        max={count - 1}
        value={shown}
        aria-label={label}
        onInput={(e) => {
          const picked = Number(e.currentTarget.value);
          onPick(picked === count - 1 ? undefined : picked);
        }}
      />
      <span class="small">
        {shown + 1} / {count}
      </span>
    </>
  );
}

/**
 * The tutorial's last two pictures, live: the fixed-noise grids over iterations (a
 * slider, and a player that animates them), beside a grid of real training images.
 */
export function SampleTimeline({ samples }: { samples: Sample[] }) {
  const fakes = fixedNoiseGrids(samples);
  const real = samples.find((s) => s.kind === "REAL");
  const [index, setIndex] = useState<number>();
  const [playing, setPlaying] = useState(false);
  // Unless the user picked one, the newest grid is shown, and new ones as they come.
  const shown = index === undefined ? fakes.length - 1 : Math.min(index, fakes.length - 1);
  const fake = fakes[shown];

  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => setIndex((i) => ((i ?? -1) + 1) % Math.max(fakes.length, 1)), 400);
    return () => clearInterval(timer);
  }, [playing, fakes.length]);

  return (
    <div class="samples">
      <GridFigure grid={real} alt="real training images" missing="no real grid">
        Real images
      </GridFigure>
      <GridFigure grid={fake} alt={`fake images at iteration ${fake?.iteration}`} id="fake-grid" missing="no samples yet">
        {fake ? `Fake images, iteration ${fake.iteration} (epoch ${fake.epoch})` : "Fake images"}
      </GridFigure>
      {fakes.length > 1 && (
        <div class="timeline">
          <button class="button" onClick={() => setPlaying(!playing)}>
            {playing ? "Pause" : "Play"}
          </button>
          <TimelineSlider
            count={fakes.length}
            shown={shown}
            label="sample timeline"
            onPick={(picked) => {
              setPlaying(false);
              setIndex(picked);
            }}
          />
        </div>
      )}
    </div>
  );
}
