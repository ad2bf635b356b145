import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** A seeded random source (pure-rand's xoroshiro128+): the same seed gives the same schema and rows. */
export class Rng {
  private readonly generator: RandomGenerator;
  constructor(seed: number) {
    this.generator = xoroshiro128plus(seed);
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return uniformInt(this.generator, lo, hi);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

const CHARS = [
  'a',
  'b',
  'Z',
  '0',
  ' ',
  ',',
  '"',
  "'",
  '\\',
  '{',
  '}',
  '(',
  ')',
  '[',
  'é',
  'ü',
  '✓',
  '😀',
  '\t',
  '\n',
  '=',
  '>',
  ':',
  '.',
  '-',
];
const WORDS = ['', 'NULL', 'null', 'a', 'A', 'x y', '{}', '()', '"q"', 'ab,cd'];

function text(r: Rng, max = 8): string {
  if (r.chance(0.15)) return r.pick(WORDS);
  let s = '';
  for (let i = r.int(0, max); i > 0; i--) s += r.pick(CHARS);
  return s;
}

function intText(r: Rng, bits: 16 | 32 | 64): string {
  const extremes: Record<16 | 32 | 64, string[]> = {
    16: ['-32768', '32767', '0', '-1'],
    32: ['-2147483648', '2147483647', '0', '1'],
    64: ['-9223372036854775808', '9223372036854775807', '0', '-1'],
  };
  if (r.chance(0.1)) return r.pick(extremes[bits]);
  if (bits === 16) return String(r.int(-32768, 32767));
  if (bits === 32) return String(r.int(-2147483648, 2147483647));
  const big = BigInt(r.int(-2147483648, 2147483647)) * 4294967296n + BigInt(r.int(0, 2 ** 32 - 1));
  return String(big);
}

function digits(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(r.int(0, 9));
  return s;
}

function numericText(r: Rng): string {
  if (r.chance(0.08))
    return r.pick([
      'NaN',
      'Infinity',
      '-Infinity',
      '0',
      '0.000',
      '-0.5',
      '1e-20',
      '123456789012345678901234567890',
    ]);
  const scale = r.int(0, 8);
  return `${r.chance(0.3) ? '-' : ''}${r.int(0, 99999)}${scale ? `.${digits(r, scale)}` : ''}`;
}

function floatText(r: Rng, single: boolean): string {
  if (r.chance(0.15))
    return r.pick(
      single
        ? ['NaN', 'Infinity', '-Infinity', '-0', '0', '1.17549435e-38', '3.4028235e+38', '0.1']
        : [
            'NaN',
            'Infinity',
            '-Infinity',
            '-0',
            '0',
            '2.2250738585072014e-308',
            '1.7976931348623157e+308',
            '0.1',
          ],
    );
  return `${r.chance(0.3) ? '-' : ''}${r.int(0, 99999)}.${digits(r, r.int(1, 6))}e${r.int(-12, 12)}`;
}

function dateText(r: Rng): string {
  if (r.chance(0.05)) return r.pick(['infinity', '-infinity', '0044-03-15 BC', '9999-12-31', '0001-01-01']);
  return `${pad(r.int(1900, 2100), 4)}-${pad(r.int(1, 12), 2)}-${pad(r.int(1, 28), 2)}`;
}

function timeText(r: Rng): string {
  const frac = r.chance(0.5) ? `.${digits(r, r.int(1, 6))}` : '';
  return `${pad(r.int(0, 23), 2)}:${pad(r.int(0, 59), 2)}:${pad(r.int(0, 59), 2)}${frac}`;
}

function zoneText(r: Rng): string {
  return r.pick(['+00', '+05:30', '-08', '+14', '-03:30']);
}

function timestampText(r: Rng, tz: boolean): string {
  if (r.chance(0.04)) return r.pick(['infinity', '-infinity']);
  const date = dateText(r);
  return `${date.includes('infinity') ? '2000-01-01' : date} ${timeText(r)}${tz ? zoneText(r) : ''}`;
}

function intervalText(r: Rng): string {
  return r.pick([
    `${r.int(-400, 400)} days ${r.int(0, 47)} hours`,
    `${r.int(0, 30)} mons ${r.int(-5, 5)} days ${timeText(r)}`,
    `${r.int(-3, 3)} years`,
    `${r.int(0, 100000)} seconds`,
    '1 day',
    '24 hours',
  ]);
}

function hex(r: Rng, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += r.int(0, 255).toString(16).padStart(2, '0');
  return s;
}

function uuidText(r: Rng): string {
  const h = hex(r, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function jsonValue(r: Rng, depth = 0): string {
  const kind = r.int(0, depth > 2 ? 3 : 5);
  if (kind === 0) return 'null';
  if (kind === 1) return r.pick(['true', 'false']);
  if (kind === 2) return r.pick(['1', '1.0', '1.50', '-0', '1e3', String(r.int(-1000, 1000))]);
  if (kind === 3) return JSON.stringify(text(r, 5));
  if (kind === 4) return `[${Array.from({ length: r.int(0, 3) }, () => jsonValue(r, depth + 1)).join(', ')}]`;
  return `{${Array.from({ length: r.int(0, 3) }, () => `${JSON.stringify(text(r, 3))}: ${jsonValue(r, depth + 1)}`).join(', ')}}`;
}

function rangeText(r: Rng, bound: () => string, ordered: (a: string, b: string) => boolean): string {
  if (r.chance(0.1)) return 'empty';
  let a = bound();
  let b = bound();
  if (!ordered(a, b)) [a, b] = [b, a];
  const lower = r.chance(0.1) ? '' : a;
  const upper = r.chance(0.1) ? '' : b;
  return `${r.pick(['[', '('])}${lower},${upper}${r.pick([']', ')'])}`;
}

/** A column type the fuzzer uses: its DDL, whether it can be part of a key, and a random SQL value. */
export interface FuzzType {
  readonly name: string;
  /** The type as written in CREATE TABLE. */
  readonly sql: string;
  /** Has a btree operator class: can be a key column. */
  readonly key: boolean;
  /** A random value as an SQL expression of this type. */
  value(r: Rng): string;
}

const simple = (name: string, sql: string, key: boolean, gen: (r: Rng) => string): FuzzType => ({
  name,
  sql,
  key,
  value: (r) => `${lit(gen(r))}::${sql}`,
});

const byNumber = (a: string, b: string) => Number(a) <= Number(b);

/** Every type the fuzzer generates, as keys (where they can be) and as columns. */
export const FUZZ_TYPES: readonly FuzzType[] = [
  simple('smallint', 'smallint', true, (r) => intText(r, 16)),
  simple('integer', 'integer', true, (r) => intText(r, 32)),
  simple('bigint', 'bigint', true, (r) => intText(r, 64)),
  simple('numeric', 'numeric', true, numericText),
  simple('numeric(12,3)', 'numeric(12,3)', true, (r) => `${r.int(-99999, 99999)}.${digits(r, 3)}`),
  simple('real', 'real', true, (r) => floatText(r, true)),
  simple('double', 'double precision', true, (r) => floatText(r, false)),
  simple('text', 'text', true, (r) => text(r)),
  simple('varchar', 'varchar(12)', true, (r) => [...text(r)].slice(0, 12).join('')),
  simple('char', 'char(4)', true, (r) => [...text(r, 4)].slice(0, 4).join('')),
  simple('text-collated', 'text COLLATE "C"', true, (r) => text(r)),
  simple('citext', 'citext', true, (r) => text(r)),
  simple('uuid', 'uuid', true, uuidText),
  simple('date', 'date', true, dateText),
  simple('timestamp', 'timestamp', true, (r) => timestampText(r, false)),
  simple('timestamptz', 'timestamptz', true, (r) => timestampText(r, true)),
  simple('time', 'time', true, timeText),
  simple('timetz', 'timetz', true, (r) => `${timeText(r)}${zoneText(r)}`),
  simple('interval', 'interval', true, intervalText),
  simple('boolean', 'boolean', true, (r) => r.pick(['true', 'false'])),
  simple('bytea', 'bytea', true, (r) => `\\x${hex(r, r.chance(0.2) ? r.int(60, 200) : r.int(0, 12))}`),
  simple('json', 'json', false, (r) => jsonValue(r)),
  simple('jsonb', 'jsonb', true, (r) => jsonValue(r)),
  simple('xml', 'xml', false, (r) => `<a n="${r.int(0, 9)}">${text(r).replace(/[<>&"'\\]/g, '')}</a>`),
  simple('inet', 'inet', true, (r) =>
    r.chance(0.3)
      ? `2001:db8::${r.int(0, 65535).toString(16)}/${r.int(64, 128)}`
      : `${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)}/${r.int(8, 32)}`,
  ),
  simple('cidr', 'cidr', true, (r) => `10.${r.int(0, 255)}.${r.int(0, 255)}.0/24`),
  simple('macaddr', 'macaddr', true, (r) => hex(r, 6).replace(/(..)(?!$)/g, '$1:')),
  simple('bit', 'bit(8)', true, (r) => digits(r, 8).replace(/[2-9]/g, (d) => String(Number(d) % 2))),
  simple('varbit', 'varbit', true, (r) =>
    digits(r, r.int(0, 12)).replace(/[2-9]/g, (d) => String(Number(d) % 2)),
  ),
  simple('money', 'money', true, (r) => `${r.int(-999999, 999999)}.${digits(r, 2)}`),
  simple('tsvector', 'tsvector', true, (r) =>
    Array.from(
      { length: r.int(0, 3) },
      () =>
        `${r.pick(['cat', 'dog', 'é', 'x y'].map((w) => `'${w}'`))}:${r.int(1, 9)}${r.pick(['', 'A', 'B'])}`,
    ).join(' '),
  ),
  simple(
    'pg_lsn',
    'pg_lsn',
    true,
    (r) =>
      `${r.int(0, 65535).toString(16).toUpperCase()}/${r
        .int(0, 2 ** 31)
        .toString(16)
        .toUpperCase()}`,
  ),
  simple('point', 'point', false, (r) => `(${floatText(r, false)},${r.int(-9, 9)})`),
  simple('box', 'box', false, (r) => `(${r.int(0, 9)},${r.int(0, 9)}),(${r.int(-9, 0)},${r.int(-9, 0)})`),
  simple('circle', 'circle', false, (r) => `<(${r.int(-9, 9)},${r.int(-9, 9)}),${r.int(0, 9)}.5>`),
  simple('lseg', 'lseg', false, (r) => `[(${r.int(-9, 9)},${r.int(-9, 9)}),(${r.int(-9, 9)},0)]`),
  simple('path', 'path', false, (r) => `[(0,0),(${r.int(1, 9)},${r.int(1, 9)}),(2,${r.int(-9, 9)})]`),
  simple('polygon', 'polygon', false, (r) => `((0,0),(${r.int(1, 9)},0),(0,${r.int(1, 9)}))`),
  simple('int4range', 'int4range', true, (r) => rangeText(r, () => String(r.int(-1000, 1000)), byNumber)),
  simple('numrange', 'numrange', true, (r) =>
    rangeText(r, () => `${r.int(-99, 99)}.${digits(r, 2)}`, byNumber),
  ),
  simple('daterange', 'daterange', true, (r) =>
    rangeText(
      r,
      () => `20${pad(r.int(0, 40), 2)}-${pad(r.int(1, 12), 2)}-01`,
      (a, b) => a <= b,
    ),
  ),
  simple('tstzrange', 'tstzrange', true, (r) =>
    rangeText(
      r,
      () => `"20${pad(r.int(0, 40), 2)}-01-01 ${timeText(r)}+00"`,
      (a, b) => a <= b,
    ),
  ),
  simple(
    'int4multirange',
    'int4multirange',
    true,
    (r) =>
      `{${Array.from({ length: r.int(0, 3) }, (_, i) => `[${i * 100 + r.int(0, 40)},${i * 100 + r.int(50, 90)})`).join(',')}}`,
  ),
  simple('hstore', 'hstore', true, (r) =>
    Array.from(
      { length: r.int(0, 3) },
      () => `${JSON.stringify(text(r, 3))}=>${r.chance(0.2) ? 'NULL' : JSON.stringify(text(r, 3))}`,
    ).join(', '),
  ),
  simple('ltree', 'ltree', true, (r) =>
    Array.from({ length: r.int(1, 4) }, () => r.pick(['a', 'b_c', 'Top', 'x1'])).join('.'),
  ),
  simple('enum', 'fz_mood', true, (r) => r.pick(['sad', 'ok', 'happy', 'zz first', 'ÿ'])),
  {
    name: 'composite',
    sql: 'fz_pair',
    key: true,
    value: (r) =>
      `ROW(${r.chance(0.1) ? 'NULL' : intText(r, 32)}, ${r.chance(0.1) ? 'NULL' : lit(text(r))})::fz_pair`,
  },
  {
    name: 'nested composite',
    sql: 'fz_nest',
    key: true,
    value: (r) =>
      `ROW(ROW(${intText(r, 32)}, ${lit(text(r))})::fz_pair, ARRAY[${Array.from({ length: r.int(0, 3) }, () => (r.chance(0.2) ? 'NULL' : lit(text(r, 4)))).join(', ')}]::text[], ${lit(floatText(r, false))}::float8)::fz_nest`,
  },
  {
    name: 'int[]',
    sql: 'integer[]',
    key: true,
    value: (r) =>
      r.chance(0.1)
        ? `'[0:1]={${r.int(0, 9)},${r.int(0, 9)}}'::integer[]`
        : `ARRAY[${Array.from({ length: r.int(0, 4) }, () => (r.chance(0.1) ? 'NULL' : intText(r, 32))).join(', ')}]::integer[]`,
  },
  {
    name: 'int[][]',
    sql: 'integer[][]',
    key: true,
    value: (r) =>
      `'{{${r.int(0, 9)},${r.int(0, 9)}},{${r.int(0, 9)},${r.chance(0.2) ? 'NULL' : r.int(0, 9)}}}'::integer[]`,
  },
  {
    name: 'text[]',
    sql: 'text[]',
    key: true,
    value: (r) =>
      `ARRAY[${Array.from({ length: r.int(0, 3) }, () => (r.chance(0.1) ? 'NULL' : lit(text(r, 5)))).join(', ')}]::text[]`,
  },
  {
    name: 'composite[]',
    sql: 'fz_pair[]',
    key: true,
    value: (r) =>
      `ARRAY[${Array.from({ length: r.int(0, 2) }, () => `ROW(${intText(r, 16)}, ${lit(text(r, 3))})::fz_pair`).join(', ')}]::fz_pair[]`,
  },
  simple(
    'numeric[]',
    'numeric[]',
    true,
    (r) =>
      `{${Array.from({ length: r.int(1, 3) }, () => (r.chance(0.2) ? 'NULL' : numericText(r).replace(/Infinity/, '1'))).join(',')}}`,
  ),
  simple('domain int', 'fz_posint', true, (r) => String(r.int(1, 2 ** 31 - 1))),
  simple('domain text', 'fz_label', true, (r) => text(r)),
  {
    name: 'domain int[]',
    sql: 'fz_intlist',
    key: true,
    value: (r) =>
      `ARRAY[${Array.from({ length: r.int(0, 3) }, () => intText(r, 16)).join(', ')}]::integer[]::fz_intlist`,
  },
];

/** What every generated schema needs before its tables: extensions, an enum, composites, domains. */
export const FUZZ_SETUP: readonly string[] = [
  'CREATE EXTENSION IF NOT EXISTS citext',
  'CREATE EXTENSION IF NOT EXISTS hstore',
  'CREATE EXTENSION IF NOT EXISTS ltree',
  // Labels whose sort order is not their text's.
  "CREATE TYPE fz_mood AS ENUM ('sad', 'ok', 'happy', 'ÿ')",
  "ALTER TYPE fz_mood ADD VALUE 'zz first' BEFORE 'sad'",
  'CREATE TYPE fz_pair AS (a integer, b text)',
  'CREATE TYPE fz_nest AS (p fz_pair, tags text[], f float8)',
  'CREATE DOMAIN fz_posint AS integer CHECK (VALUE > 0)',
  'CREATE DOMAIN fz_label AS text',
  'CREATE DOMAIN fz_intlist AS integer[]',
];

/** A generated table: its DDL, the rows (one INSERT), and which columns are the key. */
export interface FuzzTable {
  readonly name: string;
  readonly ddl: string;
  readonly insert: string;
  readonly columns: readonly { readonly name: string; readonly type: FuzzType; readonly notNull: boolean }[];
  readonly keyColumns: readonly string[];
  /** The key is a UNIQUE constraint on NOT NULL columns, not a primary key. */
  readonly uniqueKey: boolean;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A column name: mostly plain, sometimes one that needs quoting. */
function columnName(r: Rng, i: number): string {
  return r.chance(0.15) ? r.pick([`Col ${i}`, `c"${i}`, `UPPER${i}`, `sel${i}ect`, `ü${i}`]) : `c${i}`;
}

/** A random row as SQL values, in column order. */
export function rowValues(table: FuzzTable, r: Rng): string[] {
  return table.columns.map((c) =>
    !c.notNull && !table.keyColumns.includes(c.name) && r.chance(0.12) ? 'NULL' : c.type.value(r),
  );
}

/**
 * A random table `name`: 1-3 key columns of key-capable types, 1-4 other columns of any type, NULLs
 * where allowed, 3-40 rows (sometimes 150-400, so that chunking and drill-down split), loaded with one
 * INSERT whose duplicate keys are skipped.
 */
export function generateTable(name: string, r: Rng): FuzzTable {
  const keyTypes = FUZZ_TYPES.filter((t) => t.key);
  const keyCount = r.pick([1, 1, 1, 2, 2, 3]);
  const otherCount = r.int(1, 4);
  const columns: { name: string; type: FuzzType; notNull: boolean }[] = [];
  for (let i = 0; i < keyCount + otherCount; i++) {
    const type = i < keyCount ? r.pick(keyTypes) : r.pick(FUZZ_TYPES);
    columns.push({ name: columnName(r, i), type, notNull: i < keyCount || r.chance(0.3) });
  }
  const keyColumns = columns.slice(0, keyCount).map((c) => c.name);
  const uniqueKey = r.chance(0.15);
  const ddl = `CREATE TABLE ${quote(name)} (${columns
    .map((c) => `${quote(c.name)} ${c.type.sql}${c.notNull ? ' NOT NULL' : ''}`)
    .join(', ')}, ${uniqueKey ? 'UNIQUE' : 'PRIMARY KEY'} (${keyColumns.map(quote).join(', ')}))`;
  const table = { name, ddl, insert: '', columns, keyColumns, uniqueKey };
  const rows = r.chance(0.15) ? r.int(150, 400) : r.int(3, 40);
  const values = Array.from({ length: rows }, () => `(${rowValues(table, r).join(', ')})`);
  return {
    ...table,
    insert: `INSERT INTO ${quote(name)} VALUES ${values.join(',\n  ')} ON CONFLICT DO NOTHING`,
  };
}

export { lit, quote };
