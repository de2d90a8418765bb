import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { request } from "../api";
import { formatTime } from "../format";
import { usePolledQuery } from "../live";
import { DELETE_SWEEP, RESUME_SWEEP, STOP_SWEEP, SWEEP } from "../queries";
import { href } from "../router";
import type { SweepQuery, SweepQueryVariables } from "../schema-types";
import { RESUMABLE, STOPPABLE, type SweepDetail, type SweepRow } from "../types";
import { CollapseBadge } from "./Diversity";
import { StatusBadge } from "./StatusBadge";
import { GridSummary, StatusCounts, sweepActive } from "./SweepsList";

/** While runs train: a few seconds, like the workers panel. */
const POLL_MS = 3000;
/** Iterations the table's final and best values average, unless the page asks for another window. */
const DEFAULT_WINDOW = 100;

type SortValue = number | string | null;

interface Column {
  key: string;
  label: string;
  title?: string;
  numeric: boolean;
  value(row: SweepRow): SortValue;
  cell?(row: SweepRow): ComponentChildren;
}

const metric = (n: number | null | undefined): string => (n === null || n === undefined ? "–" : n.toFixed(3));

/** The table's columns: the run, its values (the grid's settings, then seed), then its results. */
function columns(sweep: SweepDetail): Column[] {
  const param = (field: string): Column => ({
    key: `param.${field}`,
    label: field,
    title: field === "seed" ? "the run's seed" : `the run's ${field}, a setting the sweep varies`,
    numeric: true,
    value: (row) => row.params.find((p) => p.field === field)?.value ?? null,
  });
  const result = (key: string, label: string, title: string, value: (row: SweepRow) => number | null | undefined): Column => ({
    key,
    label,
    title,
    numeric: true,
    value: (row) => value(row) ?? null,
    cell: (row) => metric(value(row)),
  });
  return [
    { key: "name", label: "name", numeric: false, value: (row) => row.run.name, cell: (row) => <a href={href.run(row.run.id)}>{row.run.name}</a> },
    { key: "status", label: "status", numeric: false, value: (row) => row.run.status, cell: (row) => <StatusBadge status={row.run.status} /> },
    ...[...sweep.grid.map((axis) => axis.field), "seed"].map(param),
    {
      key: "iteration",
      label: "iteration",
      numeric: true,
      value: (row) => row.run.iteration,
      cell: (row) => `${row.run.iteration}${row.run.totalIterations ? ` / ${row.run.totalIterations}` : ""}`,
    },
    result("lossD", "Loss_D", "mean Loss_D over the window's last iterations", (row) => row.final?.lossD),
    result("lossG", "Loss_G", "mean Loss_G over the window's last iterations", (row) => row.final?.lossG),
    result("dX", "D(x)", "mean D(x) over the window's last iterations", (row) => row.final?.dX),
    result("dGz1", "D(G(z))", "mean D(G(z)) before the D step over the window's last iterations", (row) => row.final?.dGz1),
    result("bestLossD", "best Loss_D", "the lowest mean Loss_D of any whole window", (row) => row.bestLossD),
    result("bestLossG", "best Loss_G", "the lowest mean Loss_G of any whole window", (row) => row.bestLossG),
    {
      key: "diversity",
      label: "diversity",
      title: "the newest fixed-noise grid's diversity (1 - mean pairwise SSIM)",
      numeric: true,
      value: (row) => row.diversity,
      cell: (row) => (
        <>
          {metric(row.diversity)} <CollapseBadge run={row.run} />
        </>
      ),
    },
  ];
}

interface Sort {
  key: string;
  direction: 1 | -1;
}

/** Rows by one column, ascending or descending; runs without a value last either way, ties in the grid's order. */
function sortRows(rows: SweepRow[], column: Column | undefined, direction: 1 | -1): SweepRow[] {
  if (!column) return rows;
  const keyed = rows.map((row, index) => ({ row, index, value: column.value(row) }));
  keyed.sort((a, b) => {
    if (a.value === null || b.value === null) return a.value === b.value ? a.index - b.index : a.value === null ? 1 : -1;
    const order = typeof a.value === "number" && typeof b.value === "number" ? a.value - b.value : String(a.value).localeCompare(String(b.value));
    return order * direction || a.index - b.index;
  });
  return keyed.map((k) => k.row);
}

/** A sweep: its grid, its runs' results side by side (sortable), and its runs to compare. */
export function SweepPage({ id }: { id: string }) {
  const [windowSize, setWindowSize] = useState(DEFAULT_WINDOW);
  const [windowText, setWindowText] = useState(String(DEFAULT_WINDOW));
  const [sort, setSort] = useState<Sort>();
  const [selected, setSelected] = useState<string[]>([]);
  const [actionError, setActionError] = useState<string>();
  const { data, error, refresh } = usePolledQuery<SweepQuery>(SWEEP, POLL_MS, {
    variables: { id, window: windowSize } satisfies SweepQueryVariables,
    keepPolling: ({ sweep }) => !!sweep && sweepActive(sweep),
  });

  if (!data) return error ? <p class="error">{error}</p> : <p class="empty">Loading…</p>;
  const sweep = data.sweep;
  if (!sweep) return <p class="error">There is no sweep {id}.</p>;

  const cols = columns(sweep);
  const sortedBy = cols.find((c) => c.key === sort?.key);
  const rows = sortRows(sweep.table, sortedBy, sort?.direction ?? 1);
  const ids = rows.map((row) => row.run.id);
  const chosen = ids.filter((rowId) => selected.includes(rowId));
  const allChosen = ids.length > 0 && chosen.length === ids.length;
  const toggle = (rowId: string) => setSelected((s) => (s.includes(rowId) ? s.filter((x) => x !== rowId) : [...s, rowId]));
  const has = (statuses: readonly string[]) => sweep.statusCounts.some((c) => statuses.includes(c.status) && c.count > 0);

  const act = async (mutation: string): Promise<boolean> => {
    setActionError(undefined);
    try {
      await request(mutation, { id });
      refresh();
      return true;
    } catch (err) {
      setActionError((err as Error).message);
      return false;
    }
  };
  const remove = async () => {
    if (!confirm(`Delete sweep "${sweep.name}" with its ${sweep.runCount} runs and their metrics, samples and checkpoints? This cannot be undone.`)) return;
    if (await act(DELETE_SWEEP)) location.hash = href.sweeps();
  };
  const applyWindow = (text: string) => {
    setWindowText(text);
    const n = Number(text);
    if (Number.isInteger(n) && n >= 1) setWindowSize(n);
  };
  const windowValid = String(windowSize) === windowText.trim();

  return (
    <section class="sweep" data-sweep-id={sweep.id}>
      <div class="toolbar">
        <h1>{sweep.name}</h1>
        <StatusBadge status={sweep.status} />
        <button class="button" id="stop-sweep" disabled={!has(STOPPABLE)} title="stop every queued or running run" onClick={() => void act(STOP_SWEEP)}>
          Stop sweep
        </button>
        <button class="button" id="resume-sweep" disabled={!has(RESUMABLE)} title="resume every stopped, failed or interrupted run" onClick={() => void act(RESUME_SWEEP)}>
          Resume sweep
        </button>
        <button class="button danger" id="delete-sweep" disabled={sweepActive(sweep)} title="only a sweep whose runs have all finished can be deleted" onClick={() => void remove()}>
          Delete sweep
        </button>
      </div>
      {actionError && <p class="error">{actionError}</p>}
      {error && <p class="error">{error}</p>}
      <dl class="facts sweep-facts">
        <dt>grid</dt>
        <dd id="sweep-grid">
          <GridSummary sweep={sweep} />
        </dd>
        <dt>runs</dt>
        <dd id="sweep-run-count">{sweep.runCount}</dd>
        <dt>by status</dt>
        <dd id="sweep-status-counts">
          <StatusCounts counts={sweep.statusCounts} />
        </dd>
        <dt>created</dt>
        <dd>{formatTime(sweep.createdAt)}</dd>
      </dl>
      <div class="toolbar sweep-controls">
        <label class="window">
          Smoothing window{" "}
          <input
            type="number"
            name="window"
            min={1}
            step={1}
            value={windowText}
            onChange={(e) => applyWindow(e.currentTarget.value)}
            aria-invalid={!windowValid}
            title="final values are means over each run's last this many iterations; best values the lowest mean of any whole window"
          />{" "}
          iterations
        </label>
        {!windowValid && <span class="error small">a whole number of iterations, 1 or more</span>}
        <span class="spacer" />
        <span class="small">{chosen.length > 0 ? `${chosen.length} of ${ids.length} selected` : "select runs to compare them"}</span>
        <button class="button" id="compare-selected" disabled={chosen.length < 2} onClick={() => (location.hash = href.compare(chosen))}>
          Compare selected{chosen.length > 0 ? ` (${chosen.length})` : ""}
        </button>
      </div>
      <div class="table-scroll">
        <table class="sweep-table" id="sweep-table">
          <thead>
            <tr>
              <th class="select">
                <input type="checkbox" checked={allChosen} onChange={() => setSelected(allChosen ? [] : ids)} aria-label="select all runs" />
              </th>
              {cols.map((column) => {
                const sorted = sort?.key === column.key;
                return (
                  <th
                    key={column.key}
                    class={column.numeric ? "num" : undefined}
                    data-column={column.key}
                    title={column.title}
                    aria-sort={sorted ? (sort.direction === 1 ? "ascending" : "descending") : undefined}
                  >
                    <button
                      type="button"
                      class="sort-header"
                      onClick={() => setSort(sorted ? { key: column.key, direction: sort.direction === 1 ? -1 : 1 } : { key: column.key, direction: 1 })}
                    >
                      {column.label}
                      <span class="sort-mark" aria-hidden="true">
                        {sorted ? (sort.direction === 1 ? "▲" : "▼") : "↕"}
                      </span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.run.id} data-run-id={row.run.id} class={selected.includes(row.run.id) ? "selected" : undefined}>
                <td class="select">
                  <input type="checkbox" checked={selected.includes(row.run.id)} onChange={() => toggle(row.run.id)} aria-label={`select ${row.run.name}`} />
                </td>
                {cols.map((column) => (
                  <td key={column.key} class={column.numeric ? "num" : undefined} data-column={column.key}>
                    {column.cell ? column.cell(row) : String(column.value(row) ?? "–")}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="small">
        Loss_D, Loss_G, D(x) and D(G(z)): means over each run's last {windowSize} iterations; best: the lowest mean of any whole window of {windowSize}.
      </p>
      <p>
        <a href={href.sweeps()}>All sweeps</a>
      </p>
    </section>
  );
}
