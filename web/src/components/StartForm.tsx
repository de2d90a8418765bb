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

type SystemInfo = SystemQuery["system"];

interface Field {
  name: Exclude<keyof StartRunInput, "dataset" | "backend">;
  label: string;
  kind: FieldKind;
  help: string;
}

/** StartRunInput's number and text fields; each starts at the schema's default (the PyTorch tutorial's). */
const FIELDS: Field[] = [
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
const DATASET_KINDS = [...DatasetKindValues].sort((a, b) => Number(a === "SYNTHETIC") - Number(b === "SYNTHETIC"));

/** A field's default in the schema; empty where it has none (the server decides, e.g. the dataset's channels). */
const DEFAULTS: Partial<Record<Field["name"], string | number>> = StartRunInputDefaults;
const TUTORIAL = Object.fromEntries(FIELDS.map((f) => [f.name, String(DEFAULTS[f.name] ?? "")]));

/**
 * Starting points. The tutorial's 64x64 networks take seconds per iteration on a CPU;
 * config (b) of the benchmark learns visibly within minutes there: on fashion-mnist
 * its grids show garment shapes by iteration 200. Its 5 epochs (4,685 iterations)
 * take about 17 minutes there on one core (wasm with its native kernels), so it stops at 500.
 */
const PRESETS: { label: string; title: string; values: Record<string, string> }[] = [
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
function errorsByField(err: unknown): Record<string, string> {
  const refused = err instanceof ApiError ? err.errors : [{ message: (err as Error).message, field: undefined }];
  const byField: Record<string, string> = {};
  for (const { message, field } of refused) {
    const shownAt = field !== undefined && SHOWN_FIELDS.has(field) ? field : "form";
    byField[shownAt] = byField[shownAt] ? `${byField[shownAt]}; ${message}` : message;
  }
  return byField;
}

/** Every StartRunInput field; the server validates, and its errors show beside the field they name. */
export function StartForm() {
  const [system, setSystem] = useState<SystemInfo>();
  const [values, setValues] = useState<Record<string, string>>(TUTORIAL);
  const [dataset, setDataset] = useState({ kind: "", path: "" });
  const [backend, setBackend] = useState<string>(StartRunInputDefaults.backend);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [submitting, setSubmitting] = useState(false);

  useEffect(() => {
    request<SystemQuery>(SYSTEM)
      .then(({ system: info }) => {
        setSystem(info);
        setDataset((d) => ({ ...d, kind: d.kind || (info.datasets.includes("FASHION_MNIST") ? "FASHION_MNIST" : DatasetInputDefaults.kind) }));
      })
      .catch((err: Error) => setErrors({ form: err.message }));
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const input: Record<string, unknown> = { backend, dataset: { kind: dataset.kind, ...(dataset.path ? { path: dataset.path } : {}) } };
    const fieldErrors: Record<string, string> = {};
    for (const field of FIELDS) {
      const raw = values[field.name]!.trim();
      if (raw === "") continue;
      if (field.kind === "text") input[field.name] = raw;
      else if (Number.isFinite(Number(raw)) && (field.kind === "float" || Number.isInteger(Number(raw)))) input[field.name] = Number(raw);
      else fieldErrors[field.name] = field.kind === "int" ? "must be a whole number" : "must be a number";
    }
    // The tutorial trains for epochs; an iteration count replaces them.
    if (input.iterations !== undefined) delete input.epochs;
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
          <button type="button" class="button small" title={preset.title} onClick={() => setValues({ ...preset.values, name: values.name ?? "" })}>
            {preset.label}
          </button>
        ))}
      </div>
      <form class="start-form" onSubmit={(e) => void submit(e)} noValidate>
        {errors.form && <p class="error">{errors.form}</p>}
        <label>
          <span>Dataset</span>
          <select name="dataset.kind" value={dataset.kind} onChange={(e) => setDataset({ ...dataset, kind: e.currentTarget.value })}>
            {DATASET_KINDS.map((kind) => (
              <option value={kind}>
                {kind.toLowerCase().replace("_", "-")}
                {system?.datasets.includes(kind) ? " (installed)" : ""}
              </option>
            ))}
          </select>
          {errorFor("dataset.kind")}
        </label>
        <label>
          <span>Dataset folder</span>
          <input
            name="dataset.path"
            value={dataset.path}
            placeholder={dataset.kind === "FASHION_MNIST" ? "/usr/share/datasets/fashion-mnist" : dataset.kind === "SYNTHETIC" ? "not needed" : "folder on the server"}
            onInput={(e) => setDataset({ ...dataset, path: e.currentTarget.value })}
          />
          {errorFor("dataset.path")}
          {errorFor("dataset")}
        </label>
        <label>
          <span>Backend</span>
          <select name="backend" value={backend} onChange={(e) => setBackend(e.currentTarget.value)}>
            <option value={"AUTO" satisfies Backend}>auto (the fastest available)</option>
            {system?.backends.map((b) => (
              <option value={b.name.toUpperCase()} disabled={!b.available} title={b.detail}>
                {b.name}
                {b.available ? "" : " (unavailable)"}
              </option>
            ))}
          </select>
          {errorFor("backend")}
        </label>
        {FIELDS.map((field) => (
          <label key={field.name}>
            <span>{field.label}</span>
            <input
              name={field.name}
              inputMode={field.kind === "text" ? "text" : "decimal"}
              value={values[field.name]}
              placeholder={field.help}
              onInput={(e) => setValues({ ...values, [field.name]: e.currentTarget.value })}
            />
            {errorFor(field.name)}
          </label>
        ))}
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
