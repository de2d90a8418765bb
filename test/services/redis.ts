import { afterAll, beforeAll } from "vitest";
import { type RedisServer, startRedisServer } from "../../src/dev/redis-server.js";

/** A redis-server of the test file's own (src/dev/redis-server.ts): started before its tests, stopped after them. */
export function useRedisServer(): RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const started = (): RedisServer => {
    if (!server) throw new Error("the Redis server starts in beforeAll: use it inside a test");
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    restart: () => started().restart(),
    stop: () => started().stop(),
  };
}
