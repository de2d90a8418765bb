import { ZOOM_POINTS, zoomRange, type Zoom } from "../zoom";

export interface ChartSettings {
  smoothing: number;
  log: boolean;
}

/** TensorBoard's two controls: smoothing (EMA weight) and a log-scale y axis; with a zoom, its range and reset. */
export function ChartControls({ settings, onChange, zoom }: { settings: ChartSettings; onChange(settings: ChartSettings): void; zoom?: Zoom }) {
  return (
    <div class="controls">
      <label>
        Smoothing{" "}
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={settings.smoothing}
          name="smoothing"
          onInput={(e) => onChange({ ...settings, smoothing: Number(e.currentTarget.value) })}
        />{" "}
        <span class="num">{settings.smoothing.toFixed(2)}</span>
      </label>
      <label>
        <input type="checkbox" checked={settings.log} name="log-scale" onChange={(e) => onChange({ ...settings, log: e.currentTarget.checked })} /> log scale
      </label>
      {zoom && <ZoomControls zoom={zoom} />}
    </div>
  );
}

/** The zoomed range, to read or type (Enter zooms to it), and the way back to the full view. */
function ZoomControls({ zoom }: { zoom: Zoom }) {
  const { range } = zoom;
  const submit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const bound = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).valueAsNumber;
    const typed = zoomRange(bound("zoom-from"), bound("zoom-to"));
    if (typed) zoom.set(typed);
  };
  const state = zoom.error ? (
    <span class="zoom-state error">{zoom.error}</span>
  ) : (
    <span class="zoom-state small">{!range ? "drag across a chart to zoom in" : !zoom.series ? "loading…" : range.to - range.from < ZOOM_POINTS ? "every iteration" : `${ZOOM_POINTS} points, evenly spaced`}</span>
  );
  return (
    // Rebuilt for each range: the fields show the range zoomed to, whatever was typed before.
    <form class="zoom" key={range ? `${range.from}-${range.to}` : "full"} onSubmit={submit}>
      <label>
        Iterations <input type="number" name="zoom-from" min={0} step={1} placeholder="from" defaultValue={range ? String(range.from) : ""} />
      </label>
      <label>
        to <input type="number" name="zoom-to" min={0} step={1} placeholder="to" defaultValue={range ? String(range.to) : ""} />
      </label>
      <button class="button small" type="submit">
        Zoom
      </button>
      <button class="button small" type="button" id="reset-zoom" disabled={!range} title="back to the whole run (double-click a chart does it too)" onClick={() => zoom.set(undefined)}>
        Reset zoom
      </button>
      {state}
    </form>
  );
}
