import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { START_SWEEP } from "../queries";
import { href } from "../router";
import type { StartSweepMutation, StartSweepMutationVariables } from "../schema-types";
import { GRID } from "../sweep-grid";
import { errorsByField, FIELDS, INITIAL_SETTINGS, loadSystem, PRESETS, runInput, RunSettings, type RunSettingsState, type SystemInfo } from "./StartForm";

/** Every run's settings but its name (made from the sweep's) and seed (the seeds list's). */
const BASE_FIELDS = FIELDS.filter((f) => f.name !== "name" && f.name !== "seed");

/** The inputs that show their own errors (as the server names them); any other error shows above the form. */
const SHOWN = new Set([
  "name",
  "seeds",
  "grid",
  ...GRID.map((g) => `grid.${g.name}`),
  ...[...BASE_FIELDS.map((f) => f.name), "dataset", "dataset.kind", "dataset.path", "backend"].map((name) => `base.${name}`),
]);

/** "0.0002, 0.001" as numbers; undefined when empty, a message when one is not a number of the kind. */
function parseList(text: string, kind: "int" | "float"): number[] | undefined | string {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) return undefined;
  const values = parts.map(Number);
  const bad = parts.find((part, i) => !Number.isFinite(values[i]) || (kind === "int" && !Number.isInteger(values[i])));
  return bad === undefined ? values : `${bad} is not ${kind === "int" ? "a whole number" : "a number"}`;
}

/** startSweep's form: a name, values to try per grid setting, seeds, and the base settings every run has. */
export function SweepForm({ onCancel }: { onCancel: () => void }) {
  const [system, setSystem] = useState<SystemInfo>();
  const [settings, setSettings] = useState<RunSettingsState>(INITIAL_SETTINGS);
  const [name, setName] = useState("");
  const [grid, setGrid] = useState<Record<string, string>>({ lr: "0.0002, 0.001" });
  const [seeds, setSeeds] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [submitting, setSubmitting] = useState(false);

  useEffect(() => loadSystem(setSystem, setSettings, (message) => setErrors({ form: message })), []);

  /** How many runs the lists make, counting each setting's values as the server will (an unreadable list as one). */
  const count = (text: string, kind: "int" | "float") => {
    const values = parseList(text, kind);
    return Array.isArray(values) ? values.length : 1;
  };
  const runs = GRID.reduce((n, g) => n * count(grid[g.name] ?? "", g.kind), count(seeds, "int"));

  const submit = async (event: Event) => {
    event.preventDefault();
    const { input: base, fieldErrors } = runInput(settings, BASE_FIELDS, "base.");
    const gridInput: Record<string, number[]> = {};
    for (const g of GRID) {
      const values = parseList(grid[g.name] ?? "", g.kind);
      if (typeof values === "string") fieldErrors[`grid.${g.name}`] = values;
      else if (values) gridInput[g.name] = values;
    }
    const seedList = parseList(seeds, "int");
    if (typeof seedList === "string") fieldErrors.seeds = seedList;
    setErrors(fieldErrors);
    if (Object.keys(fieldErrors).length > 0) return;
    setSubmitting(true);
    try {
      const input = { base, grid: gridInput, ...(name.trim() ? { name: name.trim() } : {}), ...(seedList ? { seeds: seedList as number[] } : {}) };
      const { startSweep } = await request<StartSweepMutation, StartSweepMutationVariables>(START_SWEEP, { input });
      location.hash = href.sweep(startSweep.id);
    } catch (err) {
      setErrors(errorsByField(err, SHOWN));
    } finally {
      setSubmitting(false);
    }
  };

  const errorFor = (field: string) => errors[field] && <span class="error field-error" data-field={field}>{errors[field]}</span>;
  return (
    <section class="sweep-form" id="sweep-form">
      <h2>New sweep</h2>
      <p class="small">One run per combination of the values given, for each seed: a setting left empty keeps the base's value.</p>
      <form class="start-form" onSubmit={(e) => void submit(e)} noValidate>
        {errors.form && <p class="error">{errors.form}</p>}
        <label>
          <span>Name</span>
          <input name="name" value={name} placeholder="optional; each run's name adds its values" onInput={(e) => setName(e.currentTarget.value)} />
          {errorFor("name")}
        </label>
        <h3>
          Values to try <span class="small">comma-separated</span>
          {errorFor("grid")}
        </h3>
        {GRID.map((g) => (
          <label key={g.name}>
            <span>{g.label}</span>
            <input name={`grid.${g.name}`} inputMode="decimal" value={grid[g.name] ?? ""} placeholder="the base's" onInput={(e) => setGrid({ ...grid, [g.name]: e.currentTarget.value })} />
            {errorFor(`grid.${g.name}`)}
          </label>
        ))}
        <label>
          <span>Seeds</span>
          <input name="seeds" inputMode="decimal" value={seeds} placeholder="each combination once per seed; empty: the default seed" onInput={(e) => setSeeds(e.currentTarget.value)} />
          {errorFor("seeds")}
        </label>
        <h3>
          Every run's base settings{" "}
          <span class="presets">
            Start from:{" "}
            {PRESETS.map((preset) => (
              <button type="button" class="button small" title={preset.title} onClick={() => setSettings({ ...settings, values: preset.values })}>
                {preset.label}
              </button>
            ))}
          </span>
        </h3>
        <RunSettings settings={settings} onChange={setSettings} system={system} errorFor={errorFor} fields={BASE_FIELDS} prefix="base." />
        <div class="actions">
          <button class="button primary" type="submit" disabled={submitting || !system}>
            {submitting ? "Starting…" : `Start sweep (${runs} ${runs === 1 ? "run" : "runs"})`}
          </button>
          <button type="button" class="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
