import { useState } from "preact/hooks";
import { request } from "../api";
import { formatTime } from "../format";
import { usePolledQuery } from "../live";
import { SWEEPS } from "../queries";
import { href } from "../router";
import type { SweepsQuery, SweepsQueryVariables } from "../schema-types";
import { ACTIVE, RUN_STATUSES, type SweepSummary } from "../types";
import { StatusBadge } from "./StatusBadge";
import { SweepForm } from "./SweepForm";

/** While any sweep's runs train or wait, as often as the runs list's own changes matter. */
const POLL_MS = 5000;

/** Whether a sweep has runs that are not done yet. */
export function sweepActive(sweep: Pick<SweepSummary, "statusCounts">): boolean {
  return sweep.statusCounts.some((c) => ACTIVE.includes(c.status) && c.count > 0);
}

/** How many of a sweep's runs have each status, in the lifecycle's order: "3 completed", "1 running". */
export function StatusCounts({ counts }: { counts: SweepSummary["statusCounts"] }) {
  const sorted = [...counts].sort((a, b) => RUN_STATUSES.indexOf(a.status) - RUN_STATUSES.indexOf(b.status));
  return (
    <span class="status-counts">
      {sorted.map(({ status, count }) => (
        <span key={status} class={`status status-${status.toLowerCase()}`} data-status={status} data-count={count}>
          {count} {status.toLowerCase()}
        </span>
      ))}
    </span>
  );
}

/** What a sweep varies: each grid setting with its values, then the seeds. */
export function GridSummary({ sweep }: { sweep: Pick<SweepSummary, "grid" | "seeds"> }) {
  return (
    <span class="grid-summary">
      {sweep.grid.map((axis) => (
        <span key={axis.field} class="axis" data-field={axis.field}>
          <span class="axis-field">{axis.field}</span> {axis.values.join(", ")}
        </span>
      ))}
      <span class="axis" data-field="seed">
        <span class="axis-field">{sweep.seeds.length === 1 ? "seed" : "seeds"}</span> {sweep.seeds.join(", ")}
      </span>
    </span>
  );
}

/** Every sweep, newest first; polled while any has runs to come (no subscription tells of sweeps). */
export function SweepsList() {
  const { data, error } = usePolledQuery<SweepsQuery>(SWEEPS, POLL_MS, {
    variables: { after: null } satisfies SweepsQueryVariables,
    keepPolling: ({ sweeps }) => sweeps.nodes.some(sweepActive),
  });
  // Older pages, asked for with "More sweeps": not polled.
  const [older, setOlder] = useState<SweepSummary[]>([]);
  const [next, setNext] = useState<string | null | undefined>(undefined);
  const [moreError, setMoreError] = useState<string>();
  const [creating, setCreating] = useState(false);
  const first = data?.sweeps;
  const cursor = next === undefined ? (first?.pageInfo.hasNextPage ? first.pageInfo.endCursor : null) : next;
  const loadMore = async () => {
    try {
      const { sweeps: page } = await request<SweepsQuery, SweepsQueryVariables>(SWEEPS, { after: cursor });
      setOlder((current) => [...current, ...page.nodes]);
      setNext(page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null);
      setMoreError(undefined);
    } catch (err) {
      setMoreError((err as Error).message);
    }
  };
  const seen = new Set(first?.nodes.map((s) => s.id));
  const sweeps = [...(first?.nodes ?? []), ...older.filter((s) => !seen.has(s.id))];

  return (
    <section class="sweeps">
      <div class="toolbar">
        <h1>Sweeps</h1>
        <a class="button" href={href.runs()}>
          All runs
        </a>
        <button class="button primary" id="new-sweep" disabled={creating} onClick={() => setCreating(true)}>
          New sweep
        </button>
      </div>
      {creating && <SweepForm onCancel={() => setCreating(false)} />}
      {error && <p class="error">{error}</p>}
      {!data && !error && <p class="empty">Loading…</p>}
      {data && sweeps.length === 0 && (
        <p class="empty">
          No sweeps yet. Start one with <em>New sweep</em> (or the API's <code>startSweep</code>): one run per combination of the values it tries.
        </p>
      )}
      {sweeps.length > 0 && (
        <table class="sweeps">
          <thead>
            <tr>
              <th>name</th>
              <th>status</th>
              <th>runs by status</th>
              <th>grid</th>
              <th class="num">runs</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {sweeps.map((sweep) => (
              <tr key={sweep.id} data-sweep-id={sweep.id}>
                <td>
                  <a href={href.sweep(sweep.id)}>{sweep.name}</a>
                </td>
                <td>
                  <StatusBadge status={sweep.status} />
                </td>
                <td>
                  <StatusCounts counts={sweep.statusCounts} />
                </td>
                <td>
                  <GridSummary sweep={sweep} />
                </td>
                <td class="num run-count">{sweep.runCount}</td>
                <td>{formatTime(sweep.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {moreError && <p class="error">{moreError}</p>}
      {cursor && (
        <button onClick={() => void loadMore()} class="button more">
          More sweeps
        </button>
      )}
    </section>
  );
}
