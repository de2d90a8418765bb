/**
 * `npm run stress`: one training run streamed to many subscribers that drop and resume
 * their subscriptions at random (`runProgress(after:)`), while another client floods
 * the server with bad operations. Checks at the end that every subscriber saw every
 * iteration exactly once and in order, that the server's memory stayed bounded, and
 * that it answered every bad operation without a bare 5xx; prints the figures, and
 * exits 1 when a check failed.
 */
import { setMaxListeners } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../engine/rng.js";
import { BUILT_SERVER } from "../process/server-process.js";
import { checkFigures } from "./check.js";
import { mb, summarize } from "./figures.js";
import { Flooder } from "./flooder.js";
import { fmt, log, percent } from "./format.js";
import { cpuShares, HEAP_INTERVAL_MS, HealthProbe, HeapProbe, listenOverflows, ProcessSampler } from "./measure.js";
import { readOptions } from "./options.js";
import { reportJson, reportText } from "./report.js";
import { iterationsPerSecond, type RunState, startRun, waitForRun } from "./run.js";
import { startServer, stopServer } from "./server.js";
import { sleep, Subscriber } from "./subscriber.js";

async function main(): Promise<number> {
  const options = readOptions(process.argv.slice(2));
  const wallStarted = performance.now();
  const dataDir = await mkdtemp(join(tmpdir(), "dcgan-stress-"));
  const interrupt = new AbortController();
  process.once("SIGINT", () => interrupt.abort());

  log(`starting the server (${BUILT_SERVER}) in ${dataDir}`);
  const server = await startServer(dataDir, options.port);
  const wsUrl = server.url.replace(/^http/, "ws");
  const sampler = new ProcessSampler(server.pid, wallStarted);
  const health = new HealthProbe(server.url);
  log(`server pid ${server.pid} at ${server.url}, RSS ${fmt(mb(sampler.latest()?.serverKb ?? 0))} MB`);
  let heap: HeapProbe | undefined;

  try {
    heap = await HeapProbe.connect(await server.inspectorUrl, () => sampler.now());
    // A run alone first: the training speed without stress, and the server warmed up.
    let baselineRate = Number.NaN;
    if (options.baselineIterations > 0) {
      const id = await startRun(server.url, options, options.baselineIterations, "stress baseline");
      const state = await waitForRun(server.url, id, interrupt.signal);
      if (state.status !== "COMPLETED") throw new Error(`the baseline run ended ${state.status}: ${state.error ?? ""}`);
      baselineRate = await iterationsPerSecond(server.url, id);
      log(`baseline: ${options.baselineIterations} iterations on ${state.backend} at ${fmt(baselineRate)} it/s`);
    }
    const idleKb = sampler.sample()?.serverKb ?? Number.NaN;
    const heapStart = await heap.measure();
    heap.start(HEAP_INTERVAL_MS);

    // The stressed run, its subscribers and the flood.
    const stressStarted = sampler.now();
    const overflowsBefore = listenOverflows();
    const runId = await startRun(server.url, options, options.iterations, "stress");
    const stress = new AbortController();
    setMaxListeners(options.subscribers + 10, stress.signal);
    const abortStress = () => stress.abort();
    interrupt.signal.addEventListener("abort", abortStress);
    const deadline = setTimeout(abortStress, options.timeout * 1000);

    const subscribers = Array.from(
      { length: options.subscribers },
      (_, i) =>
        new Subscriber(i, {
          wsUrl,
          runId,
          iterations: options.iterations,
          rng: Rng.stream(options.seed, "stress subscriber", i),
          disconnectMeanMs: options.disconnectMean,
          reconnectMaxMs: options.reconnectMax,
        }),
    );
    const subscribed = Promise.all(subscribers.map((s) => s.run(stress.signal)));
    const flood = new AbortController();
    stress.signal.addEventListener("abort", () => flood.abort());
    const flooder = new Flooder({
      httpUrl: server.url,
      wsUrl,
      runId,
      rng: Rng.stream(options.seed, "stress flooder"),
      httpConcurrency: options.floodHttp,
      wsConcurrency: options.floodWs,
    });
    const flooding = flooder.run(flood.signal);

    let lastState: RunState | undefined;
    let previous = sampler.latest();
    const progress = setInterval(() => {
      const delivered = subscribers.reduce((sum, s) => sum + s.stats.received, 0);
      const reconnects = subscribers.reduce((sum, s) => sum + s.stats.subscriptions - 1, 0);
      const finished = subscribers.filter((s) => s.stats.finished).length;
      const m = sampler.latest();
      const cpu = m && previous ? cpuShares(previous, m) : undefined;
      previous = m;
      log(
        `${fmt((sampler.now() - stressStarted) / 1000, 0)} s: iteration ${lastState?.iteration ?? 0}/${options.iterations} ${lastState?.status ?? ""}, ` +
          `delivered ${delivered}, reconnects ${reconnects}, finished ${finished}/${options.subscribers}, ` +
          `flood ${flooder.stats.httpSent} HTTP + ${flooder.stats.wsSent} WS, ` +
          `RSS server ${fmt(mb(m?.serverKb ?? 0))} MB training ${fmt(mb(m?.childrenKb ?? 0))} MB` +
          (cpu ? `, CPU server ${percent(cpu.server)} training ${percent(cpu.children)} stress ${percent(cpu.self)}` : ""),
      );
    }, 5000);

    const finalState = await waitForRun(server.url, runId, stress.signal, (s) => (lastState = s));
    const runFinishedAt = sampler.now();
    await subscribed;
    const subscribersDoneAt = sampler.now();
    const overflows = listenOverflows() - overflowsBefore;
    flood.abort();
    await flooding;
    clearInterval(progress);
    clearTimeout(deadline);

    // Memory once the stress is over, after a moment to settle.
    await sleep(2000);
    const end = sampler.sample();
    const heapEnd = await heap.measure();
    sampler.stop();
    await health.stop();
    await heap.close();
    const stressRate = finalState.status === "COMPLETED" ? await iterationsPerSecond(server.url, runId) : Number.NaN;

    const figures = summarize({
      options,
      baselineRate,
      stressRate,
      finalState,
      lastState,
      timedOut: stress.signal.aborted && !interrupt.signal.aborted,
      stressStarted,
      runFinishedAt,
      subscribersDoneAt,
      subscribers: subscribers.map((s) => s.stats),
      sampler,
      heap,
      heapStart,
      heapEnd,
      idleKb,
      end,
      overflows,
      flood: flooder.stats,
      health,
      serverLog: server.logCounts,
    });
    const checks = checkFigures(figures);
    process.stdout.write(reportText(figures, checks, (performance.now() - wallStarted) / 1000));
    if (options.json) await writeFile(options.json, reportJson(figures, checks));
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    sampler.stop();
    await health.stop();
    await heap?.close();
    const exit = await stopServer(server);
    if (exit !== 0) log(`the server exited with ${exit}`);
    if (!options.keep) await rm(dataDir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  log(`stress: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 2;
}
