import { useState } from "preact/hooks";
import { request } from "../api";
import { FORK_RUN } from "../queries";
import { href } from "../router";
import type { ForkRunMutation, ForkRunMutationVariables } from "../schema-types";
import type { Checkpoint, RunDetail } from "../types";

/** What a fork may change (ForkRunInput): the shapes, the dataset and the seed stay the checkpoint's. */
const FIELDS = [
  { name: "lr", label: "Learning rate", float: true },
  { name: "beta1", label: "Adam beta1", float: true },
  { name: "batchSize", label: "Batch size", float: false },
  { name: "iterations", label: "Iterations (in all)", float: false },
  { name: "sampleEvery", label: "Sample every", float: false },
  { name: "checkpointEvery", label: "Checkpoint every", float: false },
] as const;

type ForkField = (typeof FIELDS)[number]["name"];

/** A fork of `run` from `checkpoint`, its fields the parent's to start with; on success, the new run's page. */
export function ForkForm({ run, checkpoint, onClose }: { run: RunDetail; checkpoint: Checkpoint; onClose: () => void }) {
  const defaults: Record<ForkField, number> = {
    lr: run.config.lr,
    beta1: run.config.beta1,
    batchSize: run.config.batchSize,
    // Where the parent was to end, or further than the checkpoint when it already has.
    iterations: Math.max(run.totalIterations ?? run.config.iterations ?? 0, checkpoint.iteration + run.config.checkpointEvery),
    sampleEvery: run.config.sampleEvery,
    checkpointEvery: run.config.checkpointEvery,
  };
  const [values, setValues] = useState<Record<ForkField, string>>(() => Object.fromEntries(FIELDS.map((f) => [f.name, String(defaults[f.name])])) as Record<ForkField, string>);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // Only what differs from the parent is sent: the rest stays the parent's on the server.
      const changes = Object.fromEntries(
        FIELDS.map((f) => [f.name, Number(values[f.name])] as const).filter(([name, value]) => value !== defaults[name] || name === "iterations"),
      );
      const { forkRun } = await request<ForkRunMutation, ForkRunMutationVariables>(FORK_RUN, { checkpointId: checkpoint.id, changes });
      location.hash = href.run(forkRun.id);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="fork-form" id="fork-form" onSubmit={(e) => void submit(e)}>
      <h3>Fork from iteration {checkpoint.iteration}</h3>
      <p class="help">A new run from this checkpoint's weights and optimizer state, numbered on from {checkpoint.iteration}. The model's shapes, dataset and seed stay this run's.</p>
      {FIELDS.map((f) => (
        <label key={f.name}>
          {f.label}
          <input
            name={f.name}
            type="number"
            step={f.float ? "any" : "1"}
            value={values[f.name]}
            onInput={(e) => setValues({ ...values, [f.name]: (e.target as HTMLInputElement).value })}
          />
        </label>
      ))}
      {error && <p class="error">{error}</p>}
      <div class="actions">
        <button class="button primary" type="submit" disabled={busy}>
          {busy ? "forking…" : "Fork"}
        </button>
        <button class="button" type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
