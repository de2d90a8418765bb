import { useEffect, useState } from "preact/hooks";
import type { Sample } from "../types";

/**
 * The tutorial's last two pictures, live: the fixed-noise grids over iterations (a
 * slider, and a player that animates them), beside a grid of real training images.
 */
export function SampleTimeline({ samples }: { samples: Sample[] }) {
  const fakes = samples.filter((s) => s.kind === "FIXED_NOISE").sort((a, b) => a.iteration - b.iteration);
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
      <figure>
        {real ? <img src={real.url} alt="real training images" class="grid-image" /> : <div class="placeholder">no real grid</div>}
        <figcaption>Real images</figcaption>
      </figure>
      <figure>
        {fake ? <img src={fake.url} alt={`fake images at iteration ${fake.iteration}`} class="grid-image" id="fake-grid" /> : <div class="placeholder">no samples yet</div>}
        <figcaption>{fake ? `Fake images, iteration ${fake.iteration} (epoch ${fake.epoch})` : "Fake images"}</figcaption>
      </figure>
      {fakes.length > 1 && (
        <div class="timeline">
          <button class="button" onClick={() => setPlaying(!playing)}>
            {playing ? "Pause" : "Play"}
          </button>
          <input
            type="range"
            min={0}
            max={fakes.length - 1}
            value={shown}
            aria-label="sample timeline"
            onInput={(e) => {
              setPlaying(false);
              const picked = Number(e.currentTarget.value);
              setIndex(picked === fakes.length - 1 ? undefined : picked);
            }}
          />
          <span class="small">
            {shown + 1} / {fakes.length}
          </span>
        </div>
      )}
    </div>
  );
}
