import { type ComparisonResult, compareDatabases, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import { FUZZ_SETUP, type FuzzTable, generateTable, lit, quote, Rng, rowValues } from './schema-generator.js';

/** The seed of case `i` of a run seeded `seed`: each case reproduces alone. */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 31) + Math.imul(i + 1, 0x9e3779b1)) | 0;
}

/** A differing row the validation must name after the case's changes on the target. */
interface Expected {
  readonly kind: 'different' | 'missing-on-target' | 'extra-on-target';
  readonly key: Record<string, string>;
  readonly column?: string;
}

interface Case {
  readonly index: number;
  readonly seed: number;
  readonly rng: Rng;
  readonly table: FuzzTable;
  readonly mutations: string[];
  expected: Expected[];
}

/** A case whose validation was wrong, with what reproduces it. */
export interface FuzzFailure {
  readonly index: number;
  readonly seed: number;
  readonly problem: string;
  /** SQL that rebuilds the case: setup, table, rows (on both servers), then the changes on the target. */
  readonly reproduction: string;
}

export interface FuzzOptions {
  /** The run's seed; case i uses {@link caseSeed}(seed, i). */
  readonly seed: number;
  /** How many cases (one generated table each). */
  readonly cases: number;
  /** Only this case (to reproduce a failure). */
  readonly onlyCase?: number;
  /** Tables per pair of databases (each batch is validated twice). @default 60 */
  readonly batchSize?: number;
  /** Creates an empty database of this name on both servers; returns [source URL, target URL]. */
  createDatabases(name: string): Promise<[string, string]>;
  /** Drops them again. */
  dropDatabases(name: string): Promise<void>;
  log?(line: string): void;
}

export interface FuzzReport {
  readonly cases: number;
  readonly failures: readonly FuzzFailure[];
  /** How many tables each chunk method compared (integer-ranges, key-hash, ...). */
  readonly methods: Readonly<Record<string, number>>;
}

function reproduction(c: Case): string {
  return [
    `-- dmskit validation fuzz: case ${c.index}, case seed ${c.seed}`,
    '-- on both servers:',
    ...FUZZ_SETUP.map((s) => `${s};`),
    `${c.table.ddl};`,
    `${c.table.insert};`,
    'ANALYZE;',
    '-- then on the target only:',
    ...c.mutations.map((m) => `${m};`),
  ].join('\n');
}

const keySql = (t: FuzzTable) =>
  `json_build_array(${t.keyColumns.map((k) => `${quote(k)}::text`).join(', ')})`;

function keyRecord(t: FuzzTable, values: string[]): Record<string, string> {
  return Object.fromEntries(t.keyColumns.map((k, i) => [k, values[i]!]));
}

/**
 * Changes one cell of one row, deletes another row, makes two more rows trade the values of a column
 * and inserts a new one, on the target, and records
 * what validation must then name. Each change is chosen so that it is one: the cell's text changes, the
 * new key is equal to no key of the source (by the key type's own equality).
 */
async function mutate(c: Case, source: pg.Client, target: pg.Client): Promise<void> {
  const t = c.table;
  const name = quote(t.name);
  const { rows } = await target.query(
    `SELECT ctid::text AS ctid, ${keySql(t)} AS k FROM ${name} ORDER BY ctid`,
  );
  const others = t.columns.filter((col) => !t.keyColumns.includes(col.name));
  c.expected = [];
  if (rows.length >= 2 && others.length) {
    const changed = c.rng.int(0, rows.length - 1);
    const row = rows[changed] as { ctid: string; k: string[] };
    const col = c.rng.pick(others);
    for (let attempt = 0; attempt < 20; attempt++) {
      const value = col.type.value(c.rng);
      const sql = `UPDATE ${name} SET ${quote(col.name)} = ${value} WHERE ctid = ${lit(row.ctid)} AND ${quote(col.name)}::text IS DISTINCT FROM (${value})::${col.type.sql.replace(/ COLLATE .*/, '')}::text`;
      if ((await target.query(sql)).rowCount === 1) {
        c.mutations.push(sql);
        c.expected.push({ kind: 'different', key: keyRecord(t, row.k), column: col.name });
        break;
      }
    }
    let gone = c.rng.int(0, rows.length - 2);
    if (gone >= changed) gone++;
    const deleted = rows[gone] as { ctid: string; k: string[] };
    const sql = `DELETE FROM ${name} WHERE ctid = ${lit(deleted.ctid)}`;
    await target.query(sql);
    c.mutations.push(sql);
    c.expected.push({ kind: 'missing-on-target', key: keyRecord(t, deleted.k) });
    // Two other rows trade the values of one column (in one statement, each reading the other's old
    // value): a change an XOR of row digests alone would cancel out.
    const free = rows.map((_, i) => i).filter((i) => i !== changed && i !== gone);
    if (free.length >= 2) {
      const a = rows[free.splice(c.rng.int(0, free.length - 1), 1)[0]!] as { ctid: string; k: string[] };
      const b = rows[free[c.rng.int(0, free.length - 1)]!] as { ctid: string; k: string[] };
      const picked = c.rng.pick(others);
      const col = quote(picked.name);
      const trade = `UPDATE ${name} AS x SET ${col} = y.${col} FROM ${name} AS y
        WHERE (x.ctid, y.ctid) IN ((${lit(a.ctid)}, ${lit(b.ctid)}), (${lit(b.ctid)}, ${lit(a.ctid)}))
          AND x.${col}::text IS DISTINCT FROM y.${col}::text`;
      // A unique index on the column may refuse the trade: then there is none.
      const traded = await target.query(trade).catch(() => ({ rowCount: 0 }));
      if (traded.rowCount === 2) {
        c.mutations.push(trade);
        c.expected.push({ kind: 'different', key: keyRecord(t, a.k), column: picked.name });
        c.expected.push({ kind: 'different', key: keyRecord(t, b.k), column: picked.name });
      }
    }
  }
  for (let attempt = 0; attempt < 30; attempt++) {
    const values = rowValues(t, c.rng);
    const keyValues = t.keyColumns.map((k) => values[t.columns.findIndex((col) => col.name === k)]!);
    const match = `(${t.keyColumns.map(quote).join(', ')}) = (${keyValues.join(', ')})`;
    if ((await source.query(`SELECT 1 FROM ${name} WHERE ${match}`)).rowCount) continue;
    const sql = `INSERT INTO ${name} VALUES (${values.join(', ')}) ON CONFLICT DO NOTHING`;
    const inserted = await target.query(`${sql} RETURNING ${keySql(t)} AS k`);
    if (inserted.rowCount !== 1) continue;
    c.mutations.push(sql);
    c.expected.push({ kind: 'extra-on-target', key: keyRecord(t, (inserted.rows[0] as { k: string[] }).k) });
    break;
  }
}

/** What is wrong with a table's result, or undefined when it is exactly what was expected. */
function check(c: Case, result: ComparisonResult, phase: 'clean' | 'changed'): string | undefined {
  const r = result.tables.find((x) => x.table.table === c.table.name);
  if (!r) return `${phase}: the table is not in the result`;
  if (phase === 'clean')
    return r.status === 'equal' ? undefined : `clean: ${r.status}: ${r.reasons.join('; ')}`;
  if (c.expected.length === 0)
    return r.status === 'equal' ? undefined : `nothing changed, yet ${r.status}: ${r.reasons.join('; ')}`;
  if (r.status !== 'different') return `changed: ${r.status}: ${r.reasons.join('; ')}`;
  const found = r.differences ?? [];
  const show = (x: { kind: string; key: Record<string, string> }) => `${x.kind} ${JSON.stringify(x.key)}`;
  const problems: string[] = [];
  if (r.differenceCount !== c.expected.length)
    problems.push(`${r.differenceCount} difference(s), expected ${c.expected.length}`);
  for (const e of c.expected) {
    const hit = found.find((d) => d.kind === e.kind && JSON.stringify(d.key) === JSON.stringify(e.key));
    if (!hit) problems.push(`not named: ${show(e)}`);
    else if (
      e.column &&
      JSON.stringify((hit.columns ?? []).map((x) => x.name)) !== JSON.stringify([e.column])
    )
      problems.push(`${show(e)}: columns ${JSON.stringify(hit.columns)}, expected only ${e.column}`);
  }
  for (const d of found)
    if (!c.expected.some((e) => e.kind === d.kind && JSON.stringify(d.key) === JSON.stringify(e.key)))
      problems.push(`named but not changed: ${show(d)}`);
  return problems.length ? `changed: ${problems.join('; ')}` : undefined;
}

async function onBoth(clients: readonly pg.Client[], sql: string): Promise<void> {
  await Promise.all(clients.map((c) => c.query(sql)));
}

/**
 * Generates `cases` random tables (every type of the generator, as keys and as columns, NULLs, extreme
 * values, multi-column keys, unique-index keys), loads the same rows into a source and a target
 * database, and checks that validation says equal; then changes one cell, deletes one row and inserts
 * one row on the target, and checks that validation names exactly those rows (the changed one with its
 * column). Small chunk sizes make every table chunk and drill down.
 */
export async function runValidationFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const failures: FuzzFailure[] = [];
  const methods: Record<string, number> = {};
  const indexes =
    options.onlyCase !== undefined ? [options.onlyCase] : Array.from({ length: options.cases }, (_, i) => i);
  const batchSize = options.batchSize ?? 60;
  for (let from = 0; from < indexes.length; from += batchSize) {
    const batch = indexes.slice(from, from + batchSize);
    const database = `fz_${(options.seed >>> 0).toString(36)}_${from}`;
    const [sourceUrl, targetUrl] = await options.createDatabases(database);
    const [source, target] = await Promise.all([
      openConnection(sourceUrl, 'source', { pinSettings: true }),
      openConnection(targetUrl, 'target', { pinSettings: true }),
    ]);
    try {
      for (const sql of FUZZ_SETUP) await onBoth([source, target], sql);
      const cases: Case[] = [];
      for (const index of batch) {
        const seed = caseSeed(options.seed, index);
        const rng = new Rng(seed);
        const c: Case = {
          index,
          seed,
          rng,
          table: generateTable(`c${index}`, rng),
          mutations: [],
          expected: [],
        };
        try {
          await onBoth([source, target], c.table.ddl);
          await onBoth([source, target], c.table.insert);
          cases.push(c);
        } catch (error) {
          failures.push({
            index,
            seed,
            problem: `the generated rows do not load: ${(error as Error).message}`,
            reproduction: reproduction(c),
          });
        }
      }
      await onBoth([source, target], 'ANALYZE');
      // Batches alternate the digest (typed, portable md5) and the chunk fold (xor, sum).
      const batchNo = from / batchSize;
      const compare = () =>
        compareDatabases({
          source: sourceUrl,
          target: targetUrl,
          chunkRows: 20,
          leafRows: 10,
          concurrency: 2,
          hashMode: batchNo % 2 ? 'md5' : 'auto',
          checksumFold: Math.floor(batchNo / 2) % 2 ? 'sum' : 'auto',
        });
      const clean = await compare();
      for (const c of cases) {
        const problem = check(c, clean, 'clean');
        if (problem) failures.push({ index: c.index, seed: c.seed, problem, reproduction: reproduction(c) });
      }
      for (const t of clean.tables) methods[t.method ?? t.status] = (methods[t.method ?? t.status] ?? 0) + 1;
      for (const c of cases) await mutate(c, source, target);
      const changed = await compare();
      for (const c of cases) {
        if (failures.some((f) => f.index === c.index)) continue;
        const problem = check(c, changed, 'changed');
        if (problem) failures.push({ index: c.index, seed: c.seed, problem, reproduction: reproduction(c) });
      }
      options.log?.(`cases ${batch[0]}-${batch[batch.length - 1]}: ${failures.length} failure(s) so far`);
    } finally {
      await Promise.all([source.end(), target.end()]);
      await options.dropDatabases(database);
    }
  }
  return { cases: indexes.length, failures, methods };
}
