import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { createPubSub } from "@graphql-yoga/subscription";
import { buildSchema } from "type-graphql";
import { ProgressResolver } from "./resolvers/progress.resolver.js";
import { RunResolver } from "./resolvers/run.resolver.js";
import { RunSweepResolver, SweepResolver } from "./resolvers/sweep.resolver.js";
import { SystemResolver } from "./resolvers/system.resolver.js";

export function createSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [RunResolver, RunSweepResolver, SweepResolver, ProgressResolver, SystemResolver],
    // Inputs are validated by the engine's config schema, not class-validator.
    validate: false,
    // Required by type-graphql whenever a schema has subscriptions; ours use their
    // own `subscribe` functions over the run service's event hubs, never this one.
    pubSub: createPubSub(),
  });
}
