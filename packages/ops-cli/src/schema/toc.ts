/**
 * Reading and filtering the table of contents of a custom-format dump (`pg_restore -l`), so that one dump
 * is restored in steps: pre-data, primary keys, then the rest of post-data (PostgreSQL: "pg_restore",
 * options `-l` and `-L`). A TOC line is `ID; CATALOG-OID OID TYPE SCHEMA NAME OWNER`; comments start with `;`.
 */

export interface TocEntry {
  /** The line as pg_restore printed it; written back unchanged into a `-L` list. */
  readonly line: string;
  /** `TYPE SCHEMA NAME OWNER`, the part after the three numbers. */
  readonly body: string;
}

/** Parses `pg_restore -l` output, keeping entry lines only. */
export function parseToc(listing: string): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of listing.split('\n')) {
    const m = /^\d+; \d+ \d+ (.*)$/.exec(line);
    if (m?.[1]) entries.push({ line, body: m[1] });
  }
  return entries;
}

/** The primary key constraint of a table, as named in the catalog. */
export interface PrimaryKeyRef {
  readonly schema: string;
  readonly table: string;
  readonly constraint: string;
}

/** Whether an entry creates one of these primary keys, or attaches a partition's PK index to its parent's. */
export function isPrimaryKeyEntry(entry: TocEntry, keys: readonly PrimaryKeyRef[]): boolean {
  return keys.some(
    (k) =>
      entry.body.startsWith(`CONSTRAINT ${k.schema} ${k.table} ${k.constraint} `) ||
      entry.body.startsWith(`INDEX ATTACH ${k.schema} ${k.constraint} `),
  );
}

/**
 * Whether an entry creates a schema or extension that the target already has (for example `public` and
 * `plpgsql`), or comments on one: restoring those would fail or need ownership of them.
 */
export function isPreexisting(
  entry: TocEntry,
  existing: { schemas: ReadonlySet<string>; extensions: ReadonlySet<string> },
): boolean {
  // `SCHEMA - name owner`, `EXTENSION - name `, `COMMENT - SCHEMA name owner`, `COMMENT - EXTENSION name `
  const m = /^(?:COMMENT - )?(SCHEMA|EXTENSION) (?:- )?(\S+)/.exec(entry.body);
  if (!m?.[2]) return false;
  return m[1] === 'SCHEMA' ? existing.schemas.has(m[2]) : existing.extensions.has(m[2]);
}

/** A `-L` list file body. */
export function tocList(entries: readonly TocEntry[]): string {
  return `${entries.map((e) => e.line).join('\n')}\n`;
}

/** How many space-separated words name an object of each post-data TOC type (type words included). */
const KEY_WORDS: Readonly<Record<string, number>> = {
  INDEX: 3,
  'INDEX ATTACH': 4,
  CONSTRAINT: 4,
  'FK CONSTRAINT': 5,
  TRIGGER: 4,
  RULE: 4,
  POLICY: 4,
};

/**
 * The key of a post-data entry as {@link PRESENT_POST_DATA_SQL} names the object on a server, e.g.
 * `INDEX public orders_customer_idx`, `FK CONSTRAINT public orders orders_customer_fkey`; undefined for
 * other types. `known`: the keys of the server the dump came from, which tell where a name with spaces
 * ends; without it, or when none fits, names are taken to be one word each.
 */
export function postDataKey(entry: TocEntry, known?: ReadonlySet<string>): string | undefined {
  const words = entry.body.split(' ');
  if (known) {
    // A TOC line prints names unquoted, so a name with a space spans several words: the key is the longest
    // run of leading words (the owner left out) that the catalog knows.
    for (let n = words.length - 1; n >= 2; n--) {
      const key = words.slice(0, n).join(' ');
      if (known.has(key)) return key;
    }
  }
  const two = `${words[0]} ${words[1]}`;
  const n = KEY_WORDS[two] ?? KEY_WORDS[words[0] ?? ''];
  return n === undefined ? undefined : words.slice(0, n).join(' ');
}

/** The post-data objects a server has, keyed as {@link postDataKey} keys TOC entries. */
export const PRESENT_POST_DATA_SQL = `
SELECT 'INDEX ' || n.nspname || ' ' || c.relname AS key
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('i', 'I')
UNION ALL
SELECT 'INDEX ATTACH ' || n.nspname || ' ' || c.relname
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('i', 'I')
UNION ALL
SELECT CASE WHEN con.contype = 'f' THEN 'FK CONSTRAINT ' ELSE 'CONSTRAINT ' END || n.nspname || ' ' || c.relname || ' ' || con.conname
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'TRIGGER ' || n.nspname || ' ' || c.relname || ' ' || t.tgname
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal
UNION ALL
SELECT 'RULE ' || n.nspname || ' ' || c.relname || ' ' || r.rulename
  FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE r.rulename <> '_RETURN'
UNION ALL
SELECT 'POLICY ' || n.nspname || ' ' || c.relname || ' ' || p.polname
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace`;
