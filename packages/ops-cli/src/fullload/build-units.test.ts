import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpSchema, presentPostData, type SchemaDump } from '../schema/copy.js';
import { keyIndexes } from '../schema/key-index.js';
import { type LocalServer, startEmbeddedServer } from '../servers/embedded.js';
import { type BuildStep, indexBuildCost, loadBuildUnits } from './build-units.js';
import type { BuildUnit } from './indexes.js';

const SCHEMA = `
CREATE TABLE parent (id int PRIMARY KEY, code text NOT NULL, CONSTRAINT parent_code_key UNIQUE (code));
CREATE UNIQUE INDEX parent_lower_code ON parent (lower(code));
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id), code text REFERENCES parent (code),
  up int REFERENCES child (id), doc jsonb, during tstzrange, note text,
  CONSTRAINT child_during_excl EXCLUDE USING gist (during WITH &&));
CREATE INDEX child_doc_gin ON child USING gin (doc);
CREATE INDEX child_note_idx ON child (note) WHERE note IS NOT NULL;
CREATE UNIQUE INDEX child_id_code ON child (id, code);
ALTER TABLE child ALTER COLUMN code SET NOT NULL, REPLICA IDENTITY USING INDEX child_id_code;
CREATE INDEX parent_code_idx ON parent (code);
ALTER TABLE parent CLUSTER ON parent_code_idx;
ALTER TABLE child ADD CONSTRAINT child_lower_fkey FOREIGN KEY (note) REFERENCES parent (code) NOT VALID;
CREATE TABLE part (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE part_1 PARTITION OF part FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE to_part (id int PRIMARY KEY, pid int, pat date, FOREIGN KEY (pid, pat) REFERENCES part (id, at));
CREATE TABLE outside (id int PRIMARY KEY);
ALTER TABLE child ADD COLUMN out_id int REFERENCES outside (id);
INSERT INTO parent SELECT g, 'c' || g FROM generate_series(1, 1000) g;
INSERT INTO child SELECT g, g, 'c' || g, NULL, jsonb_build_object('g', g), NULL, NULL FROM generate_series(1, 1000) g;
ANALYZE;`;

describe('loadBuildUnits: the builds of the full load, from the dump and the source catalog', () => {
  let server: LocalServer;
  let client: pg.Client;
  let dump: SchemaDump;
  let units: BuildUnit<BuildStep>[];
  const byId = (id: string) => units.find((u) => u.id === id);

  beforeAll(async () => {
    server = await startEmbeddedServer({ name: 'build-units', logical: false });
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query(SCHEMA);
    const major = Math.floor(
      Number((await client.query('SHOW server_version_num')).rows[0].server_version_num) / 10_000,
    );
    const names = (
      await client.query(
        "SELECT 'public' AS schema, relname AS table FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace",
      )
    ).rows;
    dump = await dumpSchema({
      sourceUrl: server.url,
      sourceMajor: major,
      targetMajor: major,
      selected: names,
      all: names,
    });
    // `outside` is not copied (say, the table mapping leaves it out): nothing of or to it is built early.
    const copied = new Set(['public.parent', 'public.child', 'public.part_1', 'public.to_part']);
    units = await loadBuildUnits(
      dump.entries,
      client,
      copied,
      await keyIndexes(client),
      await presentPostData(client),
    );
  }, 120_000);
  afterAll(async () => {
    await dump?.dispose();
    await client?.end();
    await server?.stop();
  });

  it('builds a key as its index, then the constraint alone on its table', () => {
    expect(byId('CONSTRAINT public parent parent_pkey (index)')).toMatchObject({
      payload: { kind: 'key-index' },
      locks: [{ table: 'public.parent', mode: 'SHARE' }],
      memory: true,
    });
    expect(byId('CONSTRAINT public parent parent_pkey')).toMatchObject({
      payload: { kind: 'key-attach' },
      after: ['CONSTRAINT public parent parent_pkey (index)'],
      locks: [{ table: 'public.parent', mode: 'ACCESS EXCLUSIVE' }],
    });
    // An exclusion constraint builds its own index under ACCESS EXCLUSIVE: pg_restore's ADD CONSTRAINT.
    expect(byId('CONSTRAINT public child child_during_excl')).toMatchObject({
      payload: { kind: 'entry' },
      locks: [{ table: 'public.child', mode: 'ACCESS EXCLUSIVE' }],
    });
    expect(byId('INDEX public child_doc_gin')?.locks).toEqual([{ table: 'public.child', mode: 'SHARE' }]);
    // An index entry that also sets the replica identity or CLUSTER ON alters its table.
    expect(byId('INDEX public child_id_code')?.locks).toEqual([
      { table: 'public.child', mode: 'ACCESS EXCLUSIVE' },
    ]);
    expect(byId('INDEX public parent_code_idx')?.locks).toEqual([
      { table: 'public.parent', mode: 'ACCESS EXCLUSIVE' },
    ]);
  });

  it('adds a foreign key NOT VALID after the key it references, then validates it', () => {
    const add = byId('FK CONSTRAINT public child child_parent_id_fkey (not valid)');
    expect(add).toMatchObject({
      payload: { kind: 'fk-add' },
      after: ['CONSTRAINT public parent parent_pkey'],
      locks: [
        { table: 'public.child', mode: 'SHARE ROW EXCLUSIVE' },
        { table: 'public.parent', mode: 'SHARE ROW EXCLUSIVE' },
      ],
    });
    expect(add?.payload.kind === 'fk-add' && add.payload.fk.addSql).toMatch(
      /^ALTER TABLE ONLY public\.child ADD CONSTRAINT child_parent_id_fkey FOREIGN KEY \(parent_id\) REFERENCES public\.parent\(id\) NOT VALID$/,
    );
    expect(byId('FK CONSTRAINT public child child_parent_id_fkey')).toMatchObject({
      payload: { kind: 'fk-validate' },
      after: ['FK CONSTRAINT public child child_parent_id_fkey (not valid)'],
      locks: [
        { table: 'public.child', mode: 'SHARE UPDATE EXCLUSIVE' },
        { table: 'public.parent', mode: 'ROW SHARE' },
      ],
    });
    // Through a unique constraint, and to its own table.
    expect(byId('FK CONSTRAINT public child child_code_fkey (not valid)')?.after).toEqual([
      'CONSTRAINT public parent parent_code_key',
    ]);
    expect(byId('FK CONSTRAINT public child child_up_fkey')?.locks).toEqual([
      { table: 'public.child', mode: 'SHARE UPDATE EXCLUSIVE' },
    ]);
  });

  it('keeps a key the source has NOT VALID so, and leaves partitioned and uncopied tables to post-data', () => {
    const add = byId('FK CONSTRAINT public child child_lower_fkey (not valid)');
    expect(add?.payload.kind === 'fk-add' && add.payload.fk.addSql).toMatch(/\) NOT VALID$/);
    expect(add?.payload.kind === 'fk-add' && add.payload.fk.addSql).not.toMatch(/NOT VALID NOT VALID/);
    expect(byId('FK CONSTRAINT public child child_lower_fkey')).toBeUndefined();
    const ids = units.map((u) => u.id);
    expect(ids.filter((id) => /to_part_pid|out_id|outside|public part /.test(id))).toEqual([]);
    // A partition's own index is built with it; the parent's is post-data's.
    expect(ids.some((id) => id.startsWith('CONSTRAINT public part_1 part_1_pkey'))).toBe(true);
  });

  it('expects GiST and GIN builds to cost more than b-trees on the same rows', () => {
    const base = { rows: 1e6, bytes: 1e8, columns: 1, expression: false, partial: false, collatable: false };
    const btree = indexBuildCost({ ...base, method: 'btree' });
    expect(indexBuildCost({ ...base, method: 'gist' })).toBeGreaterThan(
      indexBuildCost({ ...base, method: 'gin' }),
    );
    expect(indexBuildCost({ ...base, method: 'gin' })).toBeGreaterThan(5 * btree);
    expect(indexBuildCost({ ...base, method: 'btree', collatable: true })).toBeGreaterThan(btree);
    expect(indexBuildCost({ ...base, method: 'btree', partial: true })).toBeLessThan(btree);
    expect(indexBuildCost({ ...base, method: 'brin' })).toBeLessThan(btree);
    // Operator classes measured far above their method's usual (BENCHMARKS.md, session 17).
    expect(indexBuildCost({ ...base, method: 'spgist', opclass: 'range_ops' })).toBeGreaterThan(
      indexBuildCost({ ...base, method: 'gist', opclass: 'range_ops' }),
    );
    expect(indexBuildCost({ ...base, method: 'gin', opclass: 'gin_trgm_ops' })).toBeGreaterThan(
      2 * indexBuildCost({ ...base, method: 'gin', opclass: 'jsonb_ops' }),
    );
    const gin = byId('INDEX public child_doc_gin')?.cost ?? 0;
    expect(gin).toBeGreaterThan(byId('INDEX public child_note_idx')?.cost ?? Number.POSITIVE_INFINITY);
  });
});
