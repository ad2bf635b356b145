import pg from 'pg';
import { createDatabase, type LocalServer, withClient } from '../helpers/servers.js';
import type { FuzzOptions } from './validation-fuzz.js';

/** The database hooks of a fuzz run on two servers: create and drop the same database on both. */
export function fuzzDatabases(
  source: LocalServer,
  target: LocalServer,
): Pick<FuzzOptions, 'createDatabases' | 'dropDatabases'> {
  return {
    createDatabases: async (name) =>
      (await Promise.all([createDatabase(source, name), createDatabase(target, name)])) as [string, string],
    dropDatabases: async (name) => {
      await Promise.all(
        [source, target].map((s) =>
          withClient(s.url, (c) =>
            c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
          ),
        ),
      );
    },
  };
}
