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
