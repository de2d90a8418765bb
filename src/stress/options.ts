import { Command } from "commander";
import { integerFrom, oneOf } from "../cli/args.js";

export const BACKENDS = ["CPU", "WASM"] as const;

export interface Options {
  subscribers: number;
  iterations: number;
  baselineIterations: number;
  backend: (typeof BACKENDS)[number];
  seed: number;
  disconnectMean: number;
  reconnectMax: number;
  floodHttp: number;
  floodWs: number;
  rssGrowth: number;
  timeout: number;
  port: number;
  keep: boolean;
  json?: string;
}

export function readOptions(argv: string[]): Options {
  return new Command("stress")
    .description("many reconnecting subscribers and a flood of bad operations against one training run")
    .option("--subscribers <n>", "graphql-ws subscribers, each with its own connection", integerFrom(1), 200)
    .option("--iterations <n>", "iterations of the stressed run", integerFrom(1), 1000)
    .option("--baseline-iterations <n>", "iterations of a run without stress first, for its iterations/s (0: none)", integerFrom(0), 200)
    .option("--backend <name>", "CPU or WASM (WASM trains the tiny model about 5x faster: 200 subscribers then want more messages than a 2-core machine delivers)", oneOf(BACKENDS), "CPU")
    .option("--seed <n>", "seed of the subscribers' and the flooder's random choices (and of the run)", integerFrom(0), 1)
    .option("--disconnect-mean <ms>", "mean lifetime of a subscriber's connection before it drops it", integerFrom(1), 5000)
    .option("--reconnect-max <ms>", "a dropped subscriber reconnects after a uniform delay below this", integerFrom(0), 500)
    .option("--flood-http <n>", "bad HTTP requests in flight at once", integerFrom(0), 3)
    .option("--flood-ws <n>", "bad WebSocket sessions in flight at once", integerFrom(0), 1)
    .option("--rss-growth <MB>", "allowed growth of the server's peak RSS (and live heap) from the run's first half to the rest of the stress", integerFrom(0), 50)
    .option("--timeout <s>", "give up when the stressed run and its subscribers have not finished after this long", integerFrom(1), 600)
    .option("--port <n>", "the server's port (0: any free one)", integerFrom(0), 0)
    .option("--keep", "keep the server's data folder (and its output, in server.log there)", false)
    .option("--json <file>", "also write the figures as JSON")
    .parse(argv, { from: "user" })
    .opts<Options>();
}
