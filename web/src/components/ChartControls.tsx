export interface ChartSettings {
  smoothing: number;
  log: boolean;
}

/** TensorBoard's two controls: smoothing (EMA weight) and a log-scale y axis. */
export function ChartControls({ settings, onChange }: { settings: ChartSettings; onChange(settings: ChartSettings): void }) {
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
    </div>
  );
}
