/**
 * The table-level lock modes the full load's builds take, and which of them conflict (PostgreSQL:
 * "Explicit Locking", Table-Level Locks, "Conflicting Lock Modes"). Two builds whose locks on a table
 * conflict never run at once: the second would wait on the first, holding a build slot, and every
 * later request on the table would queue behind its own.
 * - `CREATE INDEX`: SHARE on its table
 * - `ALTER TABLE ... ADD CONSTRAINT ... USING INDEX`, `ADD CONSTRAINT ... EXCLUDE/UNIQUE/PRIMARY KEY`:
 *   ACCESS EXCLUSIVE on its table
 * - `ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID`: SHARE ROW EXCLUSIVE on both tables
 * - `VALIDATE CONSTRAINT` of a foreign key: SHARE UPDATE EXCLUSIVE on the referencing table, ROW SHARE
 *   on the referenced one
 */
export type LockMode =
  | 'ROW SHARE'
  | 'SHARE UPDATE EXCLUSIVE'
  | 'SHARE'
  | 'SHARE ROW EXCLUSIVE'
  | 'ACCESS EXCLUSIVE';

/** A lock a build takes: the table (`schema.table`) and the mode. */
export interface TableLock {
  readonly table: string;
  readonly mode: LockMode;
}

const CONFLICTS: Readonly<Record<LockMode, readonly LockMode[]>> = {
  'ROW SHARE': ['ACCESS EXCLUSIVE'],
  'SHARE UPDATE EXCLUSIVE': ['SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'ACCESS EXCLUSIVE'],
  SHARE: ['SHARE UPDATE EXCLUSIVE', 'SHARE ROW EXCLUSIVE', 'ACCESS EXCLUSIVE'],
  'SHARE ROW EXCLUSIVE': ['SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'ACCESS EXCLUSIVE'],
  'ACCESS EXCLUSIVE': [
    'ROW SHARE',
    'SHARE UPDATE EXCLUSIVE',
    'SHARE',
    'SHARE ROW EXCLUSIVE',
    'ACCESS EXCLUSIVE',
  ],
};

/** Whether two lock modes on one table conflict (the relation is symmetric). */
export function modesConflict(a: LockMode, b: LockMode): boolean {
  return CONFLICTS[a].includes(b);
}

/** Whether any lock of `a` conflicts with any of `b` on the same table. */
export function locksConflict(a: readonly TableLock[], b: readonly TableLock[]): boolean {
  return a.some((x) => b.some((y) => x.table === y.table && modesConflict(x.mode, y.mode)));
}
