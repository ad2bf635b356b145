import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Every way an application writes a table, as SQL a role runs: through a partitioned parent and into a
 * partition, through an inheritance parent, COPY, TRUNCATE, INSERT ... ON CONFLICT, MERGE, a read-write
 * transaction asked for, the session's own read-only setting turned off, a function and a procedure.
 * Written without dmskit code; the schema is {@link WRITE_PATHS_SCHEMA}.
 */
export const WRITE_PATHS_SCHEMA = `
CREATE TABLE events (id bigint NOT NULL, kind text NOT NULL, note text, PRIMARY KEY (id, kind)) PARTITION BY LIST (kind);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('a');
CREATE TABLE events_b PARTITION OF events FOR VALUES IN ('b');
CREATE TABLE items (id int PRIMARY KEY, n int NOT NULL);
CREATE TABLE items_late (CHECK (id > 1000)) INHERITS (items);
ALTER TABLE items_late ADD PRIMARY KEY (id);
CREATE FUNCTION add_event(i bigint) RETURNS void LANGUAGE sql AS $$ INSERT INTO events VALUES (i, 'a', 'function') $$;
CREATE PROCEDURE add_event_p(i bigint) LANGUAGE sql AS $$ INSERT INTO events VALUES (i, 'b', 'procedure') $$;
INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, 'seed' FROM generate_series(1, 200) g;
INSERT INTO items SELECT g, g FROM generate_series(1, 100) g;
INSERT INTO items_late SELECT g, g FROM generate_series(1001, 1100) g;`;

/** Creates `role` (LOGIN, password = its name) if missing and lets it write every table of `public`. */
export async function grantWriter(url: string, role: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN PASSWORD '${role}'; END IF; END $$`,
    );
    await c.query(
      `GRANT USAGE ON SCHEMA public TO ${role}; GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}; GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${role}; GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA public TO ${role}`,
    );
  } finally {
    await c.end();
  }
}

/** `url` with another user and password. */
export function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = role;
  return u.toString();
}

type Attempt = (c: pg.Client, k: number) => Promise<unknown>;

const PATHS: Record<string, Attempt> = {
  'INSERT through the partitioned parent': (c, k) =>
    c.query(`INSERT INTO events VALUES (${k}, 'a', 'parent')`),
  'UPDATE through the partitioned parent': (c) => c.query(`UPDATE events SET note = 'parent' WHERE id = 2`),
  'DELETE through the partitioned parent': (c) => c.query('DELETE FROM events WHERE id = 3'),
  'INSERT into a partition': (c, k) => c.query(`INSERT INTO events_b VALUES (${k}, 'b', 'partition')`),
  'INSERT ... ON CONFLICT DO UPDATE': (c) =>
    c.query(
      `INSERT INTO events VALUES (4, 'a', 'upsert') ON CONFLICT (id, kind) DO UPDATE SET note = 'upsert'`,
    ),
  MERGE: (c, k) =>
    c.query(`MERGE INTO events e USING (VALUES (${k}::bigint, 'b')) v(id, kind) ON e.id = v.id AND e.kind = v.kind
             WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.kind, 'merge')`),
  'COPY FROM into the partitioned parent': async (c, k) => {
    await pipeline(Readable.from([`${k}\ta\tcopy\n`]), c.query(copyFrom('COPY events FROM STDIN')));
  },
  'TRUNCATE of the partitioned parent': (c) => c.query('TRUNCATE events'),
  'BEGIN READ WRITE': async (c, k) => {
    await c.query('BEGIN READ WRITE');
    try {
      await c.query(`INSERT INTO events VALUES (${k}, 'a', 'read write')`);
      await c.query('COMMIT');
    } catch (error) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  },
  'SET default_transaction_read_only = off': async (c, k) => {
    await c.query('SET default_transaction_read_only = off');
    await c.query(`INSERT INTO events VALUES (${k}, 'b', 'setting off')`);
  },
  'a function': (c, k) => c.query('SELECT add_event($1)', [k]),
  'a procedure': (c, k) => c.query('CALL add_event_p($1)', [k]),
  'UPDATE through the inheritance parent': (c) => c.query('UPDATE items SET n = n + 1 WHERE id > 1050'),
  'DELETE through the inheritance parent': (c) => c.query('DELETE FROM items WHERE id = 1060'),
  'INSERT into the inheritance child': (c, k) => c.query(`INSERT INTO items_late VALUES (${k}, 0)`),
  'TRUNCATE of the inheritance parent': (c) => c.query('TRUNCATE items'),
};

/** The names of every write path {@link tryWritePaths} tries. */
export const WRITE_PATH_NAMES = Object.keys(PATHS);

/**
 * Tries every write path as the user of `url`, each in a new session, and returns those that committed
 * (a refused write, or a refused login, is not in the list).
 */
export async function tryWritePaths(url: string, firstKey = 900_000): Promise<string[]> {
  const committed: string[] = [];
  let k = firstKey;
  for (const [name, attempt] of Object.entries(PATHS)) {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
    } catch {
      continue; // cannot log in: no write
    }
    try {
      await attempt(c, ++k);
      committed.push(name);
    } catch {
      // refused
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  return committed;
}
