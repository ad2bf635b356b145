import pg from 'pg';

/** A primary-key column as the data diff uses it. */
export interface KeyColumn {
  readonly name: string;
  /** `format_type` of the column, for casts of key values sent as text. */
  readonly type: string;
  /** Text-like (collatable): compared under `COLLATE "C"`, so both servers order keys alike. */
  readonly collatable: boolean;
}

/** A bound of a key range: the first `values.length` key columns, as text. */
export type KeyBound = readonly string[];

/**
 * One level of a key-hash partition: the rows whose key hash at `level` (a 64-bit hash of the key, a
 * different one per level) leaves `remainder` when divided by `modulus` (SQL `%`: -modulus < r < modulus).
 */
export interface HashBucket {
  readonly level: number;
  readonly modulus: number;
  readonly remainder: number;
}

/**
 * A part of the key space. Ordered keys: lower bound inclusive, upper bound exclusive; either may be
 * open. Keys chunked by hash: `hash` holds one bucket per level (every level must match).
 */
export interface KeyRange {
  readonly lower?: KeyBound;
  readonly upper?: KeyBound;
  readonly hash?: readonly HashBucket[];
}

/** The column in a comparison: `"col" COLLATE "C"` for text-like columns. */
export function keyExpr(c: KeyColumn): string {
  const id = pg.escapeIdentifier(c.name);
  return c.collatable ? `${id} COLLATE "C"` : id;
}

/** `ORDER BY` list of the key. */
export function keyOrder(keys: readonly KeyColumn[]): string {
  return keys.map(keyExpr).join(', ');
}

/** `ARRAY["k1"::text, "k2"::text]`: a key as text values. */
export function keyTextArray(keys: readonly KeyColumn[]): string {
  return `ARRAY[${keys.map((k) => `${pg.escapeIdentifier(k.name)}::text`).join(', ')}]`;
}

/**
 * Builds predicates with numbered parameters: each key value is sent as text and cast to the column's
 * type, never spliced into the SQL.
 */
export class SqlParams {
  readonly values: unknown[] = [];
  constructor(private readonly offset = 0) {}
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}${cast ? `::${cast}` : ''}`;
  }
}

function rowCompare(keys: readonly KeyColumn[], bound: KeyBound, op: '>=' | '<', params: SqlParams): string {
  const cols = keys.slice(0, bound.length);
  const left = cols.map(keyExpr);
  const right = cols.map((c, i) => params.add(bound[i], c.type));
  return cols.length === 1
    ? `${left[0]} ${op} ${right[0]}`
    : `(${left.join(', ')}) ${op} (${right.join(', ')})`;
}

/** `WHERE` condition of a key range (row comparison over the bound's columns); `true` when open. */
export function rangeSql(keys: readonly KeyColumn[], range: KeyRange, params: SqlParams): string {
  const parts: string[] = [];
  if (range.lower) parts.push(rowCompare(keys, range.lower, '>=', params));
  if (range.upper) parts.push(rowCompare(keys, range.upper, '<', params));
  return parts.length ? parts.join(' AND ') : 'true';
}

/**
 * `CASE WHEN key < b1 THEN 0 WHEN key < b2 THEN 1 ... ELSE n END`: which of the sub-ranges cut by
 * `bounds` (sorted, full keys) a row falls in.
 */
export function subRangeSql(
  keys: readonly KeyColumn[],
  bounds: readonly KeyBound[],
  params: SqlParams,
): string {
  if (bounds.length === 0) return '0';
  const whens = bounds.map((b, i) => `WHEN ${rowCompare(keys, b, '<', params)} THEN ${i}`);
  return `CASE ${whens.join(' ')} ELSE ${bounds.length} END`;
}

/** The sub-ranges of `range` cut at `bounds`, in order (`bounds.length + 1` of them). */
export function splitRange(range: KeyRange, bounds: readonly KeyBound[]): KeyRange[] {
  const out: KeyRange[] = [];
  let lower = range.lower;
  for (const b of bounds) {
    out.push({ ...(lower ? { lower } : {}), upper: b });
    lower = b;
  }
  out.push({ ...(lower ? { lower } : {}), ...(range.upper ? { upper: range.upper } : {}) });
  return out;
}
