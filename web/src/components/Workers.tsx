import { formatDuration, formatTime } from "../format";
import { usePolledQuery } from "../live";
import { WORKERS } from "../queries";
import { href } from "../router";
import type { WorkersQuery } from "../schema-types";

/** As often as a worker heartbeats. */
const POLL_MS = 5000;

/** How long ago `iso` was, as the page writes durations; a clock ahead of the browser's reads as now. */
function ago(iso: string): string {
  return `${formatDuration(Math.max(0, (Date.now() - Date.parse(iso)) / 1000))} ago`;
}

/**
 * The trainers and the runs each trains now: this server on one machine, or every
 * connected `dcgan worker`. `names` names the runs the list holds; another shows its id.
 */
export function Workers({ names }: { names: Record<string, string> }) {
  const { data, error } = usePolledQuery<WorkersQuery>(WORKERS, POLL_MS);
  return (
    <section class="workers" id="workers">
      <h2>Workers</h2>
      {error && <p class="error">{error}</p>}
      {data?.workers.length === 0 && (
        <p class="empty">
          No worker connected: start one with <code>dcgan worker</code>.
        </p>
      )}
      {data && data.workers.length > 0 && (
        <table class="workers">
          <thead>
            <tr>
              <th>host</th>
              <th>backend</th>
              <th>adapter</th>
              <th>training</th>
              <th>heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {data.workers.map((worker) => (
              <tr key={worker.id} data-worker-id={worker.id}>
                <td title={`up since ${formatTime(worker.startedAt)}`}>{worker.host}</td>
                <td>{worker.backend}</td>
                <td class="adapter" title={worker.adapter}>
                  {worker.adapter}
                </td>
                <td class="training">
                  <span class="slots">
                    {worker.runIds.length} of {worker.concurrency}
                  </span>
                  {worker.runIds.map((id) => (
                    <a href={href.run(id)} data-run-id={id} key={id}>
                      {names[id] ?? id}
                    </a>
                  ))}
                </td>
                <td class="num" title={formatTime(worker.lastHeartbeat)}>
                  {ago(worker.lastHeartbeat)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
