/** The stressed runs over GraphQL: start them, follow them, read their speed. */
import { FINISHED_STATUSES } from "../server/store/types.js";
import type { Options } from "./options.js";
import { sleep } from "./subscriber.js";

export async function gql<T>(url: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`${query.slice(0, 40)}...: HTTP ${res.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}

export async function startRun(url: string, options: Options, iterations: number, name: string): Promise<string> {
  const { startRun } = await gql<{ startRun: { id: string } }>(
    url,
    `mutation Start($input: StartRunInput!) { startRun(input: $input) { id } }`,
    {
      input: {
        name,
        imageSize: 16,
        channels: 1,
        nz: 8,
        ngf: 4,
        ndf: 4,
        batchSize: 4,
        iterations,
        checkpointEvery: 500,
        sampleEvery: 1000,
        backend: options.backend,
        seed: options.seed,
      },
    },
  );
  return startRun.id;
}

export interface RunState {
  status: string;
  iteration: number;
  backend: string | null;
  error: string | null;
}

const FINISHED: readonly string[] = FINISHED_STATUSES;

export async function runState(url: string, id: string): Promise<RunState> {
  const { run } = await gql<{ run: RunState | null }>(url, `query State($id: ID!) { run(id: $id) { status iteration backend error } }`, { id });
  if (!run) throw new Error(`run ${id} is gone`);
  return run;
}

/** Polls until the run finished; `onPoll` sees each state. */
export async function waitForRun(url: string, id: string, signal: AbortSignal, onPoll: (state: RunState) => void = () => undefined): Promise<RunState> {
  for (;;) {
    const state = await runState(url, id);
    onPoll(state);
    if (FINISHED.includes(state.status) || signal.aborted) return state;
    await sleep(250, signal);
  }
}

/** Iterations per second of a finished run, from its stored iterations' timestamps. */
export async function iterationsPerSecond(url: string, id: string): Promise<number> {
  const { run } = await gql<{ run: { metrics: { iteration: number; timestamp: string }[] } }>(
    url,
    `query Rate($id: ID!) { run(id: $id) { metrics { iteration timestamp } } }`,
    { id },
  );
  const first = run.metrics[0];
  const last = run.metrics[run.metrics.length - 1];
  if (!first || !last || last.iteration === first.iteration) return Number.NaN;
  return (last.iteration - first.iteration) / ((Date.parse(last.timestamp) - Date.parse(first.timestamp)) / 1000);
}
