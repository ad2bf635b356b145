import pg from 'pg';
import { qualifiedName } from './catalog.js';
import { baseType, digestColumns, type HashMode, md5DigestSql, typedDigestSql } from './hashing.js';
import {
  type HashBucket,
  type KeyBound,
  type KeyColumn,
  type KeyRange,
  keyExpr,
  keyOrder,
  keyTextArray,
  rangeSql,
  SqlParams,
  splitRange,
  subRangeSql,
} from './keys.js';

/** One table as the data diff reads it. */
export interface TableSpec {
  readonly schema: string;
  readonly table: string;
  /** Primary-key columns in key order; empty for a table without a key. */
  readonly keys: readonly KeyColumn[];
  /**
   * Columns present on both sides, sorted by name (digests and the row text are built from these), with
   * their type (`format_type`), or '' when the two sides disagree on it (then the column's text is hashed),
   * and whether they are NOT NULL on both sides.
   */
  readonly columns: readonly { readonly name: string; readonly type: string; readonly notNull?: boolean }[];
  /** A row filter (the task's source filters) as SQL, applied on both sides; `true` when none. */
  readonly filter: string;
  /** Planner estimate of the rows (pg_class.reltuples), for sizing chunks; -1 when unknown. */
  readonly estimatedRows: number;
}

/** A row that differs, named by its key (column -> value as text). */
export interface RowDifference {
  readonly kind: 'missing-on-target' | 'extra-on-target' | 'different';
  readonly key: Readonly<Record<string, string>>;
  /** For `different`: the columns whose values differ, with both values as text (null for NULL). */
  readonly columns?: readonly {
    readonly name: string;
    readonly source: string | null;
    readonly target: string | null;
  }[];
}

/**
 * How a chunk's row digests are folded: `xor` (`bit_xor`, PostgreSQL 14+; an int8 state, the fastest in a
 * hashed aggregate) or `sum` (any version; a numeric state). Tables without a key always sum, so that
 * duplicate rows count.
 */
export type ChecksumFold = 'xor' | 'sum';

export interface DataDiffOptions {
  readonly mode: HashMode;
  /** @default 'xor' */
  readonly fold?: ChecksumFold;
  /**
   * Rows per first-level chunk. Small chunks keep the cost of a difference small (only its chunk is read
   * again); a bucket costs one division (integer keys) or one binary search (others) a row, however many. @default 2_000
   */
  readonly chunkRows?: number;
  /** A mismatching range at most this big (rows) is compared row by row. @default 2_000 */
  readonly leafRows?: number;
  /** Sub-ranges a mismatching range is split into. @default 16 */
  readonly fanout?: number;
  /** Differences described in detail (the rest are counted). @default 1_000 */
  readonly maxDifferences?: number;
  /**
   * The first-level scan of a table of at least this many rows (the catalog's estimate) is compiled
   * with JIT, inlining and optimization (PostgreSQL: "JIT Compilation"); every other query runs without.
   * Compiling the row digest costs 90-170 ms once, and saves 18% of the scan (40-150 ns a row) in
   * bench:validate on Debian's PostgreSQL 15: a loss below about 1-2.5M rows, 1.5 s won on a 10M-row
   * wide table. A server without LLVM ignores it. @default 3_000_000
   */
  readonly jitMinRows?: number;
}

/**
 * JIT for the next query, with inlining and optimization (PostgreSQL 11+: "JIT Configuration"), and back
 * off. Session-level, set inside the table's savepoint: when the query fails, rolling back to the
 * savepoint restores `jit = off` too. The cost thresholds (10,000, where a scan of 3M rows costs over
 * 30,000) keep the tiny statement that turns JIT off from being compiled itself (30 ms).
 */
const JIT_ON = `SELECT set_config('jit', 'on', false), set_config('jit_above_cost', '10000', false),
         set_config('jit_inline_above_cost', '10000', false), set_config('jit_optimize_above_cost', '10000', false)
  WHERE current_setting('server_version_num')::int >= 110000`;
const JIT_OFF =
  "SELECT set_config('jit', 'off', false) WHERE current_setting('server_version_num')::int >= 110000";

/** The data of one table compared: counts, checksums, chunks, and every differing row by key. */
export interface TableDataDiff {
  readonly sourceRows: number;
  readonly targetRows: number;
  /** The table's checksum (the two folds of its row digests), per side. */
  readonly sourceChecksum: string;
  readonly targetChecksum: string;
  readonly chunks: number;
  /** How the table was cut into chunks (see {@link ChunkMethod}). */
  readonly method: ChunkMethod;
  /** First-level ranges whose count or checksum differed. */
  readonly mismatchedRanges: readonly KeyRange[];
  readonly differences: readonly RowDifference[];
  /** Differing rows in all (may exceed `differences.length` when capped). */
  readonly differenceCount: number;
  readonly keyed: boolean;
}

/**
 * How a table's rows are cut into chunks and a differing chunk into smaller ones:
 * - `integer-ranges`: an integer leading key, divided by the chunk width (one division a row);
 * - `sampled-ranges`: a key whose every column has an order that is the same on any two servers
 *   (numbers, text under `COLLATE "C"`, uuid, dates and times, bytea, boolean): bounds sampled from the
 *   source, `width_bucket` a row;
 * - `key-hash`: any other key (arrays, enums, composites, ranges, domains, types from extensions, keys
 *   mixing them): `hash(key) % N`, and a differing bucket split by a second hash of the key, then a
 *   third. It needs nothing but a text form of the key and equality, so it works for every key
 *   PostgreSQL allows, whatever the two servers' collations or the types' sort orders;
 * - `whole-table`: a table small enough to be one chunk;
 * - `multiset`: a table without a key: one count and an order-independent checksum.
 */
export type ChunkMethod = 'integer-ranges' | 'sampled-ranges' | 'key-hash' | 'whole-table' | 'multiset';

/**
 * Key column types whose order is the same on any two servers, so that a key range means the same rows
 * on both: numbers, text-like types (compared under `COLLATE "C"`), uuid, dates and times, bytea,
 * boolean. Keys with any other column are chunked by hash.
 */
const PORTABLY_ORDERED = new Set([
  'smallint',
  'integer',
  'bigint',
  'oid',
  'numeric',
  'real',
  'double precision',
  'text',
  'character varying',
  'character',
  'name',
  'uuid',
  'date',
  'timestamp without time zone',
  'timestamp with time zone',
  'time without time zone',
  'bytea',
  'boolean',
]);

/** Whether every key column has an order that is the same on both servers (then keys are chunked by range). */
export function portablyOrdered(keys: readonly KeyColumn[]): boolean {
  return keys.length > 0 && keys.every((k) => PORTABLY_ORDERED.has(baseType(k.type)));
}

/**
 * A 64-bit hash of the row's key at `level` (0 for the first-level buckets, 1, 2... for the splits of a
 * differing bucket). typed mode: the key columns' typed digest (the same functions as row digests, whose
 * agreement the self-check proved), rehashed with the level as seed; md5 mode: md5 of the level and the
 * key's row text.
 */
function keyHashSql(spec: TableSpec, mode: HashMode, level: number): string {
  if (mode === 'md5') {
    const text = `ROW(${spec.keys.map((k) => pg.escapeIdentifier(k.name)).join(', ')})::text`;
    return md5DigestSql(`'${level}:' || ${text}`)[0];
  }
  const base = typedDigestSql(
    digestColumns(spec.keys.map((k) => ({ name: k.name, type: k.type, notNull: true }))),
    0,
  );
  return level === 0 ? base : `hashint8extended(${base}, ${level})`;
}

function hashBucketSql(spec: TableSpec, mode: HashMode, b: HashBucket): string {
  return `(${keyHashSql(spec, mode, b.level)}) % ${b.modulus} = ${b.remainder}`;
}

/** `WHERE` condition of a range: key bounds (row comparison) and key-hash buckets; `true` when open. */
function whereSql(spec: TableSpec, mode: HashMode, range: KeyRange, params: SqlParams): string {
  const parts: string[] = [];
  if (range.lower || range.upper) {
    const { hash: _hash, ...bounds } = range;
    parts.push(rangeSql(spec.keys, bounds, params));
  }
  for (const b of range.hash ?? []) parts.push(hashBucketSql(spec, mode, b));
  return parts.length ? parts.join(' AND ') : 'true';
}

/**
 * The condition of any of `ranges`. First-level hash buckets (the usual leaves of a key-hash table) are
 * matched with one `= ANY(...)`, so the key is hashed once a row however many buckets are read.
 */
function whereAnySql(
  spec: TableSpec,
  mode: HashMode,
  ranges: readonly KeyRange[],
  params: SqlParams,
): string {
  const first = ranges[0]?.hash?.[0];
  const oneLevel =
    first &&
    ranges.length > 1 &&
    ranges.every(
      (r) =>
        !r.lower &&
        !r.upper &&
        r.hash?.length === 1 &&
        r.hash[0]!.level === first.level &&
        r.hash[0]!.modulus === first.modulus,
    );
  if (oneLevel) {
    const remainders = `{${ranges.map((r) => r.hash![0]!.remainder).join(',')}}`;
    return `(${keyHashSql(spec, mode, first.level)}) % ${first.modulus} = ANY(${params.add(remainders, 'int8[]')})`;
  }
  return ranges.map((r) => `(${whereSql(spec, mode, r, params)})`).join(' OR ');
}

interface Agg {
  n: number;
  s0: bigint;
  s1: bigint;
}

const ZERO: Agg = { n: 0, s0: 0n, s1: 0n };

/** node-postgres' parser for a text[] literal (type oid 1009): any array's text form, element by element. */
const parseTextArray = (pg.types.getTypeParser as unknown as (oid: number) => (value: string) => unknown)(
  1009,
);

/** The seed of the second fold's remix of a typed row digest (any constant; both sides use this one). */
const REMIX_SEED = '6238072747940578789';

/** `ROW(c1, c2, ...)::text` over the common columns, by name. */
function rowText(spec: TableSpec): string {
  return `ROW(${spec.columns.map((c) => pg.escapeIdentifier(c.name)).join(', ')})::text`;
}

/**
 * Two 64-bit digests of a row as SQL expressions over the table's columns. typed mode: the XORs of the
 * columns' typed hashes under two sets of seeds (the first is the row digest; chunks fold it twice, see
 * `aggregate`). md5 mode: the halves of md5 of the row text (the caller wraps it in a subquery so the
 * text is built once).
 */
function digestExprs(spec: TableSpec, mode: HashMode, text = rowText(spec)): [string, string] {
  if (mode === 'md5') return md5DigestSql(text);
  const columns = digestColumns(spec.columns);
  return [typedDigestSql(columns, 0), typedDigestSql(columns, 1)];
}

/**
 * Rows of the table in `where` with their digests h0, h1 and the key columns, for md5 mode: the row
 * text is built once in a subquery (OFFSET 0 keeps it from being flattened) and hashed twice.
 */
function md5Subquery(spec: TableSpec, where: string): string {
  const keyCols = spec.keys.map((k) => pg.escapeIdentifier(k.name));
  const [h0, h1] = md5DigestSql('d.r');
  return `SELECT ${[...keyCols.map((k) => `d.${k}`), `${h0} AS h0`, `${h1} AS h1`].join(', ')}
            FROM (SELECT ${[...keyCols, `${rowText(spec)} AS r`].join(', ')} FROM ONLY ${qualifiedName(spec)} WHERE (${spec.filter}) AND (${where}) OFFSET 0) d`;
}

/**
 * Count and two 64-bit checksums per bucket of the rows in `range`: typed mode folds the row digest and
 * a remix of it, md5 mode the two halves of md5. Keyed tables combine digests with
 * bit_xor when the servers have it (their rows are distinct, and an int8 XOR keeps no per-group state
 * to allocate, where a numeric sum makes a hashed aggregate several times slower); tables without a key,
 * and servers before PostgreSQL 14, sum them (duplicates count).
 */
async function aggregate(
  client: pg.Client,
  spec: TableSpec,
  options: Pick<DataDiffOptions, 'mode' | 'fold'>,
  /** The bucket of a row as SQL over this side's names (`spec`). */
  bucketSql: (p: SqlParams, spec: TableSpec) => string,
  range: KeyRange,
  /** Compile this query with JIT (see {@link DataDiffOptions.jitMinRows}). */
  jit = false,
): Promise<Map<number, Agg>> {
  const params = new SqlParams();
  const where = whereSql(spec, options.mode, range, params);
  const bucket = bucketSql(params, spec);
  const fold = xorFold(spec, options) ? 'bit_xor' : 'sum';
  const mode = options.mode;
  const select = (from: string, b: string, h0: string, h1: string) =>
    `SELECT ${b} AS b, count(*)::int8 AS n, coalesce(${fold}(${h0}), 0)::text AS s0, coalesce(${fold}(${h1}), 0)::text AS s1 FROM ${from} GROUP BY 1`;
  // typed: the row digest is computed once, in a subquery (OFFSET 0 keeps the planner from inlining it,
  // which would compute it twice), and folded twice: as it is, and remixed by hashint8extended under a
  // seed of its own. The second fold is not linear in the first, so a change that cancels out in one
  // XOR (two rows trading a value) does not in the other.
  const sql =
    mode === 'md5'
      ? select(`(${md5Subquery(spec, where)}) x`, bucket, 'x.h0', 'x.h1')
      : select(
          `(SELECT ${bucket} AS b, ${digestExprs(spec, mode)[0]} AS h FROM ONLY ${qualifiedName(spec)} WHERE (${spec.filter}) AND (${where}) OFFSET 0) x`,
          'x.b',
          'x.h',
          `hashint8extended(x.h, ${REMIX_SEED})`,
        );
  if (jit) await client.query(JIT_ON);
  const { rows } = await client.query(sql, params.values);
  if (jit) await client.query(JIT_OFF);
  return new Map(
    rows.map((r: { b: number; n: string; s0: string; s1: string }) => [
      Number(r.b),
      { n: Number(r.n), s0: BigInt(r.s0), s1: BigInt(r.s1) },
    ]),
  );
}

/** How first-level chunks are assigned: the bucket expression, and the key range of each bucket id. */
interface BucketPlan {
  /** SQL of a row's bucket over one side's names. */
  readonly bucket: (p: SqlParams, spec: TableSpec) => string;
  /** The key range a bucket id stands for (ranges of different ids never overlap). */
  readonly range: (id: number) => KeyRange;
  /** Buckets the key space is cut into between the source's first and last key (for the report). */
  readonly count: number;
  readonly method: ChunkMethod;
}

/** One bucket: the whole table (small tables, tables without a key). */
const WHOLE_TABLE: BucketPlan = { bucket: () => '0', range: () => ({}), count: 1, method: 'whole-table' };

/** Any key: `hash(key) % chunks`, the first level of the key-hash partition. */
function hashBuckets(mode: HashMode, chunks: number): BucketPlan {
  return {
    bucket: (_p, side) => `(${keyHashSql(side, mode, 0)}) % ${chunks}`,
    range: (id) => ({ hash: [{ level: 0, modulus: chunks, remainder: id }] }),
    count: chunks,
    method: 'key-hash',
  };
}

const INTEGER_LIMITS: Readonly<Record<string, readonly [bigint, bigint]>> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

/**
 * Integer leading key without a row filter: chunks of equal key width, the bucket being `key / width`
 * (integer division, one operation per row: a search through bounds, or a CASE that keeps keys beyond
 * the source's min and max apart, costs a third more on the clean path). Division truncates toward zero,
 * so bucket 0 holds (-width, width) and bucket b < 0 holds ((b-1)*width, b*width]; keys that exist only
 * on the target fall in buckets of their own. The width comes from the source's min and max, read from
 * the primary-key index.
 * @returns undefined when the key is not an integer, the table is filtered, or empty
 */
async function integerBuckets(
  client: pg.Client,
  spec: TableSpec,
  chunks: number,
): Promise<BucketPlan | undefined> {
  const lead = spec.keys[0]!;
  const limits = INTEGER_LIMITS[lead.type];
  if (!limits || spec.filter !== 'true') return undefined;
  const col = pg.escapeIdentifier(lead.name);
  const sql = `SELECT min(${col})::text AS lo, max(${col})::text AS hi FROM ONLY ${qualifiedName(spec)}`;
  const r = (await client.query(sql)).rows[0] as { lo: string | null; hi: string | null };
  if (r.lo === null || r.hi === null) return undefined;
  const lo = BigInt(r.lo);
  const hi = BigInt(r.hi);
  // At most the largest bigint: a key space spanning the whole type (-2^63 .. 2^63-1) in two chunks
  // would need a width of 2^63, which cannot be sent as int8.
  const width = [(hi - lo + BigInt(chunks)) / BigInt(chunks), 2n ** 63n - 1n].reduce((a, b) =>
    a < b ? a : b,
  );
  // A bound beyond the column's type cannot be sent as a parameter of that type: the range is open there.
  const bound = (v: bigint): KeyBound | undefined =>
    v < limits[0] || v > limits[1] ? undefined : [String(v)];
  const range = (id: number): KeyRange => {
    const b = BigInt(id);
    const [from, to] =
      b > 0n
        ? [b * width, (b + 1n) * width]
        : b === 0n
          ? [1n - width, width]
          : [(b - 1n) * width + 1n, b * width + 1n];
    const lower = bound(from);
    const upper = bound(to);
    return { ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) };
  };
  return {
    bucket: (p, side) => `${pg.escapeIdentifier(side.keys[0]!.name)} / ${p.add(String(width), 'int8')}`,
    range,
    count: Number(hi / width - lo / width) + 1,
    method: 'integer-ranges',
  };
}

/** Any other leading key: bounds sampled from the source, assigned by width_bucket (a binary search). */
async function sampledBuckets(client: pg.Client, spec: TableSpec, chunks: number): Promise<BucketPlan> {
  const lead = spec.keys[0]!;
  const b = await leadBounds(client, spec, chunks);
  if (b.count === 0) return WHOLE_TABLE;
  const ranges = splitRange(
    {},
    (parseTextArray(b.literal) as string[]).map((v) => [v]),
  );
  return {
    range: (id) => ranges[id]!,
    count: ranges.length,
    method: 'sampled-ranges',
    bucket: (p, side) => `width_bucket(${keyExpr(side.keys[0]!)}, ${p.add(b.literal, `${lead.type}[]`)})`,
  };
}

/**
 * First-level chunk bounds: about `chunks` quantiles of the leading key column, from a block sample of
 * the source (TABLESAMPLE SYSTEM, about 50 rows a chunk), sorted under `COLLATE "C"` for text. A block
 * sample of a small table can hold no page at all, and a row filter can leave few of the sampled rows:
 * when the sample gives fewer than half the bounds asked for, it is taken again ten times larger, up to
 * the whole table. Computed once, on the source.
 * @returns the bounds as an array literal of the column's type, and their count
 */
async function leadBounds(
  client: pg.Client,
  spec: TableSpec,
  chunks: number,
): Promise<{ literal: string; count: number }> {
  const lead = spec.keys[0]!;
  const estimate = Math.max(spec.estimatedRows, 1);
  const col = pg.escapeIdentifier(lead.name);
  const order = `ORDER BY v${lead.collatable ? ' COLLATE "C"' : ''}`;
  const enough = Math.max(1, Math.floor(chunks / 2));
  for (let percent = Math.min(100, Math.max(0.01, (100 * chunks * 50) / estimate)); ; ) {
    const { rows } = await client.query(
      `SELECT coalesce(array_agg(v ${order}), '{}')::text AS bounds, count(*)::int AS n
         FROM (SELECT v, row_number() OVER (${order}) AS rn, count(*) OVER () AS c
                 FROM (SELECT DISTINCT ${col} AS v FROM ONLY ${qualifiedName(spec)} TABLESAMPLE SYSTEM (${percent.toFixed(4)}) WHERE (${spec.filter})) s) q
        WHERE rn % greatest(1, c / ${chunks}) = 0`,
    );
    const r = rows[0] as { bounds: string; n: number };
    if (r.n >= enough || percent >= 100) return { literal: r.bounds, count: r.n };
    percent = Math.min(100, percent * 10);
  }
}

async function subBounds(
  client: pg.Client,
  spec: TableSpec,
  range: KeyRange,
  rows: number,
  fanout: number,
): Promise<KeyBound[]> {
  const params = new SqlParams();
  const where = rangeSql(spec.keys, range, params);
  const step = Math.max(1, Math.ceil(rows / fanout));
  const cols = spec.keys.map((k) => pg.escapeIdentifier(k.name)).join(', ');
  const { rows: out } = await client.query(
    `SELECT k FROM (SELECT ${keyTextArray(spec.keys)} AS k, row_number() OVER (ORDER BY ${keyOrder(spec.keys)}) AS rn
                      FROM (SELECT ${cols} FROM ONLY ${qualifiedName(spec)} WHERE (${spec.filter}) AND (${where})) t) s
      WHERE rn % ${step} = 0 ORDER BY rn LIMIT ${fanout - 1}`,
    params.values,
  );
  return out.map((r: { k: string[] }) => r.k);
}

async function leafDigests(
  client: pg.Client,
  spec: TableSpec,
  mode: HashMode,
  ranges: readonly KeyRange[],
): Promise<Map<string, string>> {
  const params = new SqlParams();
  const where = whereAnySql(spec, mode, ranges, params);
  const keyCols = spec.keys.map((k) => `${pg.escapeIdentifier(k.name)}::text`);
  // One result row holding [key..., digest] per row (no per-row protocol overhead), and one 64-bit
  // digest per row: the range is already known to differ (by its two checksums); this finds its rows.
  const [h0] = digestExprs(spec, mode);
  const sql = `SELECT coalesce(json_agg(json_build_array(${keyCols.join(', ')}, to_hex(${h0}))), '[]')::text AS j
                 FROM ONLY ${qualifiedName(spec)} WHERE (${spec.filter}) AND (${where})`;
  const { rows } = await client.query(sql, params.values);
  const list = JSON.parse((rows[0] as { j: string }).j) as string[][];
  return new Map(list.map((r) => [JSON.stringify(r.slice(0, -1)), r[r.length - 1]!]));
}

async function rowValues(
  client: pg.Client,
  spec: TableSpec,
  keys: readonly string[][],
): Promise<Map<string, (string | null)[]>> {
  if (keys.length === 0) return new Map();
  const params = new SqlParams();
  const tuples = keys.map((k) => `(${spec.keys.map((c, i) => params.add(k[i], c.type)).join(', ')})`);
  const cols = spec.keys.map((c) => pg.escapeIdentifier(c.name));
  const lhs = cols.length === 1 ? cols[0] : `(${cols.join(', ')})`;
  const values = `ARRAY[${spec.columns.map((c) => `${pg.escapeIdentifier(c.name)}::text`).join(', ')}]`;
  const { rows } = await client.query(
    `SELECT ${keyTextArray(spec.keys)} AS k, ${values} AS v FROM ONLY ${qualifiedName(spec)} WHERE ${lhs} IN (${tuples.join(', ')})`,
    params.values,
  );
  return new Map(rows.map((r: { k: string[]; v: (string | null)[] }) => [JSON.stringify(r.k), r.v]));
}

/**
 * How a differing range is cut into about `fanout` parts: at keys sampled in order (portably ordered
 * keys), or by the key's hash at the next level (any other key, and every range that is already a hash
 * bucket). `part(id)` is the range of the bucket id the `bucket` expression gives a row.
 * @returns undefined when the range cannot be cut further (too few distinct keys)
 */
async function splitOf(
  client: pg.Client,
  spec: TableSpec,
  mode: HashMode,
  range: KeyRange,
  rows: number,
  fanout: number,
): Promise<
  { bucket: (p: SqlParams, side: TableSpec) => string; part: (id: number) => KeyRange } | undefined
> {
  if (range.hash || !portablyOrdered(spec.keys)) {
    const level = range.hash?.length ?? 0;
    return {
      bucket: (_p, side) => `(${keyHashSql(side, mode, level)}) % ${fanout}`,
      part: (id) => ({ ...range, hash: [...(range.hash ?? []), { level, modulus: fanout, remainder: id }] }),
    };
  }
  const bounds = await subBounds(client, spec, range, rows, fanout);
  if (bounds.length === 0) return undefined;
  const parts = splitRange(range, bounds);
  return { bucket: (p, side) => subRangeSql(side.keys, bounds, p), part: (id) => parts[id]! };
}

/** Whether chunk digests are XORed: keyed tables (distinct rows) on servers that have bit_xor. */
const xorFold = (spec: TableSpec, options: Pick<DataDiffOptions, 'fold'>) =>
  spec.keys.length > 0 && (options.fold ?? 'xor') === 'xor';

const same = (a: Agg | undefined, b: Agg | undefined) =>
  (a ?? ZERO).n === (b ?? ZERO).n && (a ?? ZERO).s0 === (b ?? ZERO).s0 && (a ?? ZERO).s1 === (b ?? ZERO).s1;

/**
 * Finds every differing row in the given key ranges: a range small enough is compared row by row
 * (key and digest only); a larger one is cut into `fanout` sub-ranges at keys sampled in order, whose
 * counts and checksums are compared on both sides, recursing into the ones that differ.
 */
export async function diffRanges(
  source: pg.Client,
  target: pg.Client,
  spec: TableSpec,
  ranges: readonly { range: KeyRange; sourceRows: number; targetRows: number }[],
  options: DataDiffOptions,
  /** The same table as the target names it (transformation rules); its columns in `spec`'s order. @default spec */
  targetSpec: TableSpec = spec,
): Promise<{ differences: RowDifference[]; count: number }> {
  const leafRows = options.leafRows ?? 2_000;
  const fanout = options.fanout ?? 16;
  const max = options.maxDifferences ?? 1_000;
  const missing: string[][] = [];
  const extra: string[][] = [];
  const changed: string[][] = [];
  const compareLeaves = async (leaves: readonly KeyRange[]) => {
    if (leaves.length === 0) return;
    const [s, t] = await Promise.all([
      leafDigests(source, spec, options.mode, leaves),
      leafDigests(target, targetSpec, options.mode, leaves),
    ]);
    for (const [k, h] of s) {
      const th = t.get(k);
      if (th === undefined) missing.push(JSON.parse(k));
      else if (th !== h) changed.push(JSON.parse(k));
    }
    for (const k of t.keys()) if (!s.has(k)) extra.push(JSON.parse(k));
  };
  // Level by level: every small range of a level is read in one batched query per side.
  let level = [...ranges];
  for (let depth = 0; level.length; depth++) {
    const leaves: KeyRange[] = [];
    const next: { range: KeyRange; sourceRows: number; targetRows: number }[] = [];
    for (const r of level) {
      const big = Math.max(r.sourceRows, r.targetRows);
      const side = r.sourceRows >= r.targetRows ? source : target;
      const split =
        big > leafRows && depth < 8
          ? await splitOf(side, side === target ? targetSpec : spec, options.mode, r.range, big, fanout)
          : undefined;
      if (!split) {
        leaves.push(r.range);
        continue;
      }
      const [s, t] = await Promise.all([
        aggregate(source, spec, options, split.bucket, r.range),
        aggregate(target, targetSpec, options, split.bucket, r.range),
      ]);
      for (const id of new Set([...s.keys(), ...t.keys()])) {
        if (!same(s.get(id), t.get(id)))
          next.push({ range: split.part(id), sourceRows: s.get(id)?.n ?? 0, targetRows: t.get(id)?.n ?? 0 });
      }
    }
    for (let i = 0; i < leaves.length; i += 200) await compareLeaves(leaves.slice(i, i + 200));
    level = next;
  }

  const keyObject = (k: string[]) => Object.fromEntries(spec.keys.map((c, i) => [c.name, k[i] ?? '']));
  const differences: RowDifference[] = [];
  const detailed = changed.slice(0, max);
  const [sv, tv] = await Promise.all([
    rowValues(source, spec, detailed),
    rowValues(target, targetSpec, detailed),
  ]);
  for (const k of detailed) {
    const a = sv.get(JSON.stringify(k)) ?? [];
    const b = tv.get(JSON.stringify(k)) ?? [];
    const columns = spec.columns
      .map((c, i) => ({ name: c.name, source: a[i] ?? null, target: b[i] ?? null }))
      .filter((c) => c.source !== c.target)
      .map((c) => ({ name: c.name, source: clip(c.source), target: clip(c.target) }));
    differences.push({ kind: 'different', key: keyObject(k), columns });
  }
  for (const k of missing.slice(0, Math.max(0, max - differences.length)))
    differences.push({ kind: 'missing-on-target', key: keyObject(k) });
  for (const k of extra.slice(0, Math.max(0, max - differences.length)))
    differences.push({ kind: 'extra-on-target', key: keyObject(k) });
  differences.sort((x, y) =>
    compareKeys(
      spec.keys.map((c) => x.key[c.name]!),
      spec.keys.map((c) => y.key[c.name]!),
    ),
  );
  return { differences, count: missing.length + extra.length + changed.length };
}

const INTEGER = /^-?\d+$/;

/** Orders keys given as text: integers by value, anything else by code point, column by column. */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i]!, b[i]!];
    if (x === y) continue;
    if (INTEGER.test(x) && INTEGER.test(y)) return BigInt(x) < BigInt(y) ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function clip(v: string | null): string | null {
  return v !== null && v.length > 200 ? `${v.slice(0, 200)}…` : v;
}

/**
 * Compares one table's data on two sessions that each read one snapshot. Clean path: one scan per side
 * that counts and checksums every first-level chunk at once (integer division of an integer leading key,
 * else `width_bucket` over sampled bounds of the leading key column). Tables without a key get one order-independent multiset checksum and count.
 */
export async function diffTableData(
  source: pg.Client,
  target: pg.Client,
  spec: TableSpec,
  options: DataDiffOptions,
  /** The same table as the target names it (transformation rules); its columns in `spec`'s order. @default spec */
  targetSpec: TableSpec = spec,
): Promise<TableDataDiff> {
  const chunkRows = options.chunkRows ?? 2_000;
  const keyed = spec.keys.length > 0;
  let plan = keyed ? WHOLE_TABLE : { ...WHOLE_TABLE, method: 'multiset' as const };
  if (keyed && spec.estimatedRows > chunkRows) {
    const chunks = Math.min(16_384, Math.ceil(spec.estimatedRows / chunkRows));
    plan = portablyOrdered(spec.keys)
      ? ((await integerBuckets(source, spec, chunks)) ?? (await sampledBuckets(source, spec, chunks)))
      : hashBuckets(options.mode, chunks);
  }
  const jit = spec.estimatedRows >= (options.jitMinRows ?? 3_000_000);
  const [s, t] = await Promise.all([
    aggregate(source, spec, options, plan.bucket, {}, jit),
    aggregate(target, targetSpec, options, plan.bucket, {}, jit),
  ]);
  const combine = xorFold(spec, options) ? (x: bigint, y: bigint) => x ^ y : (x: bigint, y: bigint) => x + y;
  const total = (m: Map<number, Agg>) =>
    [...m.values()].reduce(
      (acc, a) => ({ n: acc.n + a.n, s0: combine(acc.s0, a.s0), s1: combine(acc.s1, a.s1) }),
      ZERO,
    );
  const st = total(s);
  const tt = total(t);

  const mismatched: { range: KeyRange; sourceRows: number; targetRows: number }[] = [];
  const ids = [...new Set([...s.keys(), ...t.keys()])].sort((x, y) => x - y);
  for (const id of ids) {
    if (!same(s.get(id), t.get(id)))
      mismatched.push({
        range: plan.range(id),
        sourceRows: s.get(id)?.n ?? 0,
        targetRows: t.get(id)?.n ?? 0,
      });
  }
  const found =
    keyed && mismatched.length
      ? await diffRanges(source, target, spec, mismatched, options, targetSpec)
      : { differences: [], count: 0 };
  return {
    sourceRows: st.n,
    targetRows: tt.n,
    sourceChecksum: `${st.s0}/${st.s1}`,
    targetChecksum: `${tt.s0}/${tt.s1}`,
    chunks: plan.count,
    method: plan.method,
    mismatchedRanges: mismatched.map((m) => m.range),
    differences: found.differences,
    differenceCount: keyed ? found.count : mismatched.length ? Math.abs(st.n - tt.n) || 1 : 0,
    keyed,
  };
}

/** Counts and checksums of given ranges on both sides (for re-checks while CDC runs). */
export async function rangeAggregates(
  client: pg.Client,
  spec: TableSpec,
  options: Pick<DataDiffOptions, 'mode' | 'fold'>,
  range: KeyRange,
): Promise<Agg> {
  const m = await aggregate(client, spec, options, () => '0', range);
  return m.get(0) ?? ZERO;
}
