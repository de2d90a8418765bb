import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, request } from "../api";
import { START_RUN, SYSTEM } from "../queries";
import { href } from "../router";
import {
  type Backend,
  DatasetInputDefaults,
  DatasetKindValues,
  type StartRunInput,
  StartRunInputDefaults,
  type StartRunMutation,
  type SystemQuery,
} from "../schema-types";

type FieldKind = "int" | "float" | "text";

export type SystemInfo = SystemQuery["system"];

export interface Field {
  name: Exclude<keyof StartRunInput, "dataset" | "backend">;
  label: string;
  kind: FieldKind;
  help: string;
}

/** StartRunInput's number and text fields; each starts at the schema's default (the PyTorch tutorial's). */
export const FIELDS: Field[] = [
  { name: "name", label: "Name", kind: "text", help: "optional; a name is made up when empty" },
  { name: "imageSize", label: "Image size", kind: "int", help: "4 * 2^k pixels, at least 16" },
  { name: "channels", label: "Channels (nc)", kind: "int", help: "empty: the dataset's" },
  { name: "nz", label: "Latent size (nz)", kind: "int", help: "length of G's input noise" },
  { name: "ngf", label: "Generator width (ngf)", kind: "int", help: "" },
  { name: "ndf", label: "Discriminator width (ndf)", kind: "int", help: "" },
  { name: "batchSize", label: "Batch size", kind: "int", help: "" },
  { name: "lr", label: "Learning rate", kind: "float", help: "Adam, both networks" },
  { name: "beta1", label: "Adam beta1", kind: "float", help: "" },
  { name: "epochs", label: "Epochs", kind: "int", help: "passes over the data" },
  { name: "iterations", label: "Iterations", kind: "int", help: "instead of epochs, when given" },
  { name: "seed", label: "Seed", kind: "int", help: "same seed, same run" },
  { name: "sampleEvery", label: "Sample every", kind: "int", help: "iterations between fixed-noise grids" },
  { name: "checkpointEvery", label: "Checkpoint every", kind: "int", help: "iterations between checkpoints" },
  { name: "threads", label: "CPU threads", kind: "int", help: "empty: the server's cores but one (wasm's native kernels)" },
];

/** Every dataset the schema knows, in the server's order, with the synthetic one last: real images first. */
export const DATASET_KINDS = [...DatasetKindValues].sort((a, b) => Number(a === "SYNTHETIC") - Number(b === "SYNTHETIC"));

/** A field's default in the schema; empty where it has none (the server decides, e.g. the dataset's channels). */
const DEFAULTS: Partial<Record<Field["name"], string | number>> = StartRunInputDefaults;
export const TUTORIAL = Object.fromEntries(FIELDS.map((f) => [f.name, String(DEFAULTS[f.name] ?? "")]));

/**
 * Starting points. The tutorial's 64x64 networks take seconds per iteration on a CPU;
 * config (b) of the benchmark learns visibly within minutes there: on fashion-mnist
 * its grids show garment shapes by iteration 200. Its 5 epochs (4,685 iterations)
 * take about 17 minutes there on one core (wasm with its native kernels), so it stops at 500.
 */
export const PRESETS: { label: string; title: string; values: Record<string, string> }[] = [
  { label: "Tutorial (64x64)", title: "the PyTorch tutorial's settings: best on a GPU", values: TUTORIAL },
  {
    label: "Fast on a CPU (32x32)",
    title: "32x32 images, networks of width 32, batches of 64, 500 iterations: about 2 minutes on one core (wasm with its native kernels), a grid every 50",
    // Epochs left empty: the iterations replace them, and a "5" beside them would say otherwise.
    values: { ...TUTORIAL, imageSize: "32", ngf: "32", ndf: "32", batchSize: "64", epochs: "", iterations: "500", sampleEvery: "50", checkpointEvery: "500" },
  },
];

/** The inputs that show their own errors: every other error shows above the form. */
const SHOWN_FIELDS = new Set([...FIELDS.map((f) => f.name), "dataset", "dataset.kind", "dataset.path", "backend"]);

/** Each refused field's message, by the field; a server refuses every invalid field at once. */
export function errorsByField(err: unknown, shown: ReadonlySet<string> = SHOWN_FIELDS): Record<string, string> {
  const refused = err instanceof ApiError ? err.errors : [{ message: (err as Error).message, field: undefined }];
  const byField: Record<string, string> = {};
  for (const { message, field } of refused) {
    const shownAt = field !== undefined && shown.has(field) ? field : "form";
    byField[shownAt] = byField[shownAt] ? `${byField[shownAt]}; ${message}` : message;
  }
  return byField;
}

/** The base settings of a run (or of each run of a sweep): the dataset, the backend and FIELDS' texts. */
export interface RunSettingsState {
  values: Record<string, string>;
  dataset: { kind: string; path: string };
  backend: string;
}

export const INITIAL_SETTINGS: RunSettingsState = { values: TUTORIAL, dataset: { kind: "", path: "" }, backend: StartRunInputDefaults.backend };

/** Asks for the server's datasets and backends; the dataset starts at fashion-mnist where installed. */
export function loadSystem(setSystem: (info: SystemInfo) => void, setSettings: (update: (s: RunSettingsState) => RunSettingsState) => void, onError: (message: string) => void): void {
  request<SystemQuery>(SYSTEM)
    .then(({ system: info }) => {
      setSystem(info);
      setSettings((s) => ({ ...s, dataset: { ...s.dataset, kind: s.dataset.kind || (info.datasets.includes("FASHION_MNIST") ? "FASHION_MNIST" : DatasetInputDefaults.kind) } }));
    })
    .catch((err: Error) => onError(err.message));
}

/**
 * StartRunInput from the settings' texts (empty ones left out: the server's defaults);
 * a text that is no number is refused here, under `prefix` and its field's name.
 */
export function runInput(settings: RunSettingsState, fields: readonly Field[], prefix = ""): { input: Record<string, unknown>; fieldErrors: Record<string, string> } {
  const { values, dataset, backend } = settings;
  const input: Record<string, unknown> = { backend, dataset: { kind: dataset.kind, ...(dataset.path ? { path: dataset.path } : {}) } };
  const fieldErrors: Record<string, string> = {};
  for (const field of fields) {
    const raw = (values[field.name] ?? "").trim();
    if (raw === "") continue;
    if (field.kind === "text") input[field.name] = raw;
    else if (Number.isFinite(Number(raw)) && (field.kind === "float" || Number.isInteger(Number(raw)))) input[field.name] = Number(raw);
    else fieldErrors[`${prefix}${field.name}`] = field.kind === "int" ? "must be a whole number" : "must be a number";
  }
  // The tutorial trains for epochs; an iteration count replaces them.
  if (input.iterations !== undefined) delete input.epochs;
  return { input, fieldErrors };
}

/**
 * The dataset, backend and FIELDS' inputs, each with its error beside it: inputs and
 * errors named `prefix` + the field (`base.batchSize` in the sweep form).
 */
export function RunSettings({
  settings,
  onChange,
  system,
  errorFor,
  fields = FIELDS,
  prefix = "",
}: {
  settings: RunSettingsState;
  onChange: (settings: RunSettingsState) => void;
  system: SystemInfo | undefined;
  errorFor: (name: string) => ComponentChildren;
  fields?: readonly Field[];
  prefix?: string;
}) {
  const { values, dataset, backend } = settings;
  const setDataset = (d: RunSettingsState["dataset"]) => onChange({ ...settings, dataset: d });
  const setBackend = (b: string) => onChange({ ...settings, backend: b });
  const setValues = (v: Record<string, string>) => onChange({ ...settings, values: v });
  return (
    <>
          <label>
            <span>Dataset</span>
            <select name={`${prefix}dataset.kind`} value={dataset.kind} onChange={(e) => setDataset({ ...dataset, kind: e.currentTarget.value })}>
              {DATASET_KINDS.map((kind) => (
                <option value={kind}>
                  {kind.toLowerCase().replace("_", "-")}
                  {system?.datasets.includes(kind) ? " (installed)" : ""}
                </option>
              ))}
            </select>
            {errorFor(`${prefix}dataset.kind`)}
          </label>
          <label>
            <span>Dataset folder</span>
            <input
              name={`${prefix}dataset.path`}
              value={dataset.path}
              placeholder={dataset.kind === "FASHION_MNIST" ? "/usr/share/datasets/fashion-mnist" : dataset.kind === "SYNTHETIC" ? "not needed" : "folder on the server"}
              onInput={(e) => setDataset({ ...dataset, path: e.currentTarget.value })}
            />
            {errorFor(`${prefix}dataset.path`)}
            {errorFor(`${prefix}dataset`)}
          </label>
          <label>
            <span>Backend</span>
            <select name={`${prefix}backend`} value={backend} onChange={(e) => setBackend(e.currentTarget.value)}>
              <option value={"AUTO" satisfies Backend}>auto (the fastest available)</option>
              {system?.backends.map((b) => (
                <option value={b.name.toUpperCase()} disabled={!b.available} title={b.detail}>
                  {b.name}
                  {b.available ? "" : " (unavailable)"}
                </option>
              ))}
            </select>
            {errorFor(`${prefix}backend`)}
          </label>
          {fields.map((field) => (
            <label key={field.name}>
              <span>{field.label}</span>
              <input
                name={`${prefix}${field.name}`}
                inputMode={field.kind === "text" ? "text" : "decimal"}
                value={values[field.name]}
                placeholder={field.help}
                onInput={(e) => setValues({ ...values, [field.name]: e.currentTarget.value })}
              />
              {errorFor(`${prefix}${field.name}`)}
            </label>
          ))}
    </>
  );
}

/** Every StartRunInput field; the server validates, and its errors show beside the field they name. */
export function StartForm() {
  const [system, setSystem] = useState<SystemInfo>();
  const [settings, setSettings] = useState<RunSettingsState>(INITIAL_SETTINGS);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [submitting, setSubmitting] = useState(false);

  useEffect(() => loadSystem(setSystem, setSettings, (message) => setErrors({ form: message })), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const { input, fieldErrors } = runInput(settings, FIELDS);
    setErrors(fieldErrors);
    if (Object.keys(fieldErrors).length > 0) return;
    setSubmitting(true);
    try {
      const { startRun } = await request<StartRunMutation>(START_RUN, { input });
      location.hash = href.run(startRun.id);
    } catch (err) {
      setErrors(errorsByField(err));
    } finally {
      setSubmitting(false);
    }
  };

  const errorFor = (name: string) => errors[name] && <span class="error field-error" data-field={name}>{errors[name]}</span>;
  return (
    <section>
      <h1>New run</h1>
      <p class="small">The defaults are the PyTorch DCGAN tutorial's. The run starts as soon as a training slot is free.</p>
      <div class="presets">
        Start from:{" "}
        {PRESETS.map((preset) => (
          <button type="button" class="button small" title={preset.title} onClick={() => setSettings({ ...settings, values: { ...preset.values, name: settings.values.name ?? "" } })}>
            {preset.label}
          </button>
        ))}
      </div>
      <form class="start-form" onSubmit={(e) => void submit(e)} noValidate>
        {errors.form && <p class="error">{errors.form}</p>}
        <RunSettings settings={settings} onChange={setSettings} system={system} errorFor={errorFor} />
        <div class="actions">
          {/* Datasets and backends come from the server: until then there is nothing valid to send. */}
          <button class="button primary" type="submit" disabled={submitting || !system}>
            {submitting ? "Starting…" : "Start run"}
          </button>
          <a href={href.runs()}>Cancel</a>
        </div>
      </form>
    </section>
  );
}
