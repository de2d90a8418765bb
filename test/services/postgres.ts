import { afterAll } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../src/dev/postgres-server.js";
import { migrateDatabase } from "../../src/server/store/migrate.js";

export interface TestPostgres {
  /** The URL of a new, migrated, empty database. */
  freshDatabase(): Promise<string>;
  /** Restarts the server on the same port (src/dev/postgres-server.ts): its databases survive. */
  restart(): Promise<void>;
}

/** The database every fresh one copies. */
const TEMPLATE = "dcgan_template";

/**
 * A PostgreSQL server of the test file's own (src/dev/postgres-server.ts), started on
 * first use and stopped after the file's tests. Call it at the file's top level. Where
 * PostgreSQL is not installed, the tests that use it fail saying so.
 */
export function usePostgresServer(): TestPostgres {
  let server: Promise<PostgresServer> | undefined;
  let template: Promise<void> | undefined;
  let databases = 0;
  afterAll(async () => {
    // A server that failed to start has failed the tests that wanted it already.
    const started = await server?.catch(() => undefined);
    await started?.stop();
  });
  const started = () => (server ??= startPostgresServer());
  return {
    async freshDatabase() {
      const postgres = await started();
      // Migrating takes a CLI run (about 2 s), so it happens once, on a template that each database copies.
      template ??= postgres.createDatabase(TEMPLATE).then(migrateDatabase);
      await template;
      return postgres.createDatabase(`test_${++databases}`, TEMPLATE);
    },
    async restart() {
      await (await started()).restart();
    },
  };
}
