import type pg from 'pg';

/**
 * Runs `statements` in order in one transaction on `client`: all of them, or (on the first error, which
 * is rethrown) none.
 */
export async function runInTransaction(client: pg.Client, statements: readonly string[]): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const sql of statements) await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
