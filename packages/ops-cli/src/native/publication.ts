import type { TableInfo } from '@dmskit/validation';
import { qualifiedName } from '@dmskit/validation';
import pg from 'pg';

/** The publications the native engine created on the source. */
export interface Publications {
  /** Names of the publications created (one or two). */
  readonly names: readonly string[];
  /** Tables published without UPDATE and DELETE, because they have no primary key or replica identity. */
  readonly insertOnly: readonly TableInfo[];
}

/** Which publications a migration's tables need, and which tables are published insert-only. */
export function publicationPlan(
  tables: readonly TableInfo[],
  names: { publication: string; insertOnlyPublication: string },
): Publications {
  const full = tables.some((t) => t.hasReplicaIdentity);
  const insertOnly = tables.filter((t) => !t.hasReplicaIdentity);
  return {
    names: [
      ...(full ? [names.publication] : []),
      ...(insertOnly.length ? [names.insertOnlyPublication] : []),
    ],
    insertOnly,
  };
}

/**
 * Creates the publications of a migration on the source, in one transaction: one for the tables that have
 * a primary key or replica identity (all changes), and one, publishing only INSERT and TRUNCATE, for the
 * tables that have neither. Publishing UPDATE or DELETE of a table without replica identity would make
 * those statements fail on the source (PostgreSQL: "Logical Replication > Publication"); DMS likewise
 * replicates no UPDATE or DELETE for such tables.
 */
export async function createPublications(
  source: pg.Client,
  tables: readonly TableInfo[],
  names: { publication: string; insertOnlyPublication: string },
): Promise<Publications> {
  const full = tables.filter((t) => t.hasReplicaIdentity);
  const insertOnly = tables.filter((t) => !t.hasReplicaIdentity);
  const created: string[] = [];
  await source.query('BEGIN');
  try {
    if (full.length) {
      await source.query(
        `CREATE PUBLICATION ${pg.escapeIdentifier(names.publication)} FOR TABLE ${full.map(qualifiedName).join(', ')}`,
      );
      created.push(names.publication);
    }
    if (insertOnly.length) {
      await source.query(
        `CREATE PUBLICATION ${pg.escapeIdentifier(names.insertOnlyPublication)} FOR TABLE ${insertOnly.map(qualifiedName).join(', ')} WITH (publish = 'insert, truncate')`,
      );
      created.push(names.insertOnlyPublication);
    }
    await source.query('COMMIT');
  } catch (error) {
    await source.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return { names: created, insertOnly };
}

/** Drops publications by name if they exist. */
export async function dropPublications(source: pg.Client, names: readonly string[]): Promise<void> {
  for (const name of names) await source.query(`DROP PUBLICATION IF EXISTS ${pg.escapeIdentifier(name)}`);
}
