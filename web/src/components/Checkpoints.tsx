import { useState } from "preact/hooks";
import { request } from "../api";
import { formatBytes, formatTime } from "../format";
import { GENERATE } from "../queries";
import type { GenerateMutation, GenerateMutationVariables } from "../schema-types";
import type { Checkpoint, Sample } from "../types";

/** A run's checkpoints, each downloadable, and new images from any of them; `onFork` offers a fork from each. */
export function Checkpoints({ checkpoints, onFork }: { checkpoints: Checkpoint[]; onFork?: (checkpoint: Checkpoint) => void }) {
  const [generated, setGenerated] = useState<Pick<Sample, "id" | "url" | "iteration">>();
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();
  const generate = async (checkpoint: Checkpoint) => {
    setBusy(checkpoint.id);
    setError(undefined);
    try {
      // A new seed each time: the button is "show me more", not "show me the same".
      const seed = Math.floor(Math.random() * 2 ** 31);
      const { generate: sample } = await request<GenerateMutation, GenerateMutationVariables>(GENERATE, { checkpointId: checkpoint.id, seed });
      setGenerated(sample);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(undefined);
    }
  };
  if (checkpoints.length === 0) return <p class="empty">No checkpoints yet.</p>;
  return (
    <div class="checkpoints">
      <table>
        <thead>
          <tr>
            <th>iteration</th>
            <th>epoch</th>
            <th>size</th>
            <th>written</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {[...checkpoints].reverse().map((c) => (
            <tr key={c.id}>
              <td class="num">{c.iteration}</td>
              <td class="num">{c.epoch}</td>
              <td class="num">{formatBytes(c.bytes)}</td>
              <td>{formatTime(c.createdAt)}</td>
              <td>
                <a href={c.downloadUrl} download>
                  download
                </a>{" "}
                <button class="button small" disabled={busy !== undefined} onClick={() => void generate(c)}>
                  {busy === c.id ? "generating…" : "generate"}
                </button>
                {onFork && (
                  <>
                    {" "}
                    <button class="button small fork-checkpoint" data-iteration={c.iteration} title="a new run from here with some hyperparameters changed" onClick={() => onFork(c)}>
                      fork
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error && <p class="error">{error}</p>}
      {generated && (
        <figure>
          <img src={generated.url} alt={`generated from iteration ${generated.iteration}`} class="grid-image" id="generated-grid" />
          <figcaption>New images from the checkpoint at iteration {generated.iteration}</figcaption>
        </figure>
      )}
    </div>
  );
}
