import pg from 'pg';

/**
 * Creates the subscription on the target, on the replication slot the full load created: no copy, no new
 * slot, so it applies exactly the changes committed after the full load's snapshot (PostgreSQL: "CREATE
 * SUBSCRIPTION": `copy_data = false`, `create_slot = false`, `slot_name`). `conninfo` holds the source
 * password and is never printed.
 */
export async function createSubscription(
  target: pg.Client,
  options: { name: string; slot: string; publications: readonly string[]; conninfo: string },
): Promise<void> {
  await target.query(
    `CREATE SUBSCRIPTION ${pg.escapeIdentifier(options.name)} CONNECTION ${pg.escapeLiteral(options.conninfo)}
       PUBLICATION ${options.publications.map((p) => pg.escapeIdentifier(p)).join(', ')}
       WITH (copy_data = false, create_slot = false, slot_name = ${pg.escapeLiteral(options.slot)}, enabled = true)`,
  );
}

/**
 * Drops the subscription, which also drops its slot (and any table-sync slots) on the source. When the
 * source cannot be reached, the subscription is detached from its slot and dropped anyway; the caller then
 * drops the slot on the source with {@link dropReplicationSlot}.
 * @returns whether the subscription existed
 */
export async function dropSubscription(target: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await target.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [name]);
  if (!rowCount) return false;
  const id = pg.escapeIdentifier(name);
  try {
    await target.query(`DROP SUBSCRIPTION ${id}`);
  } catch {
    await target.query(`ALTER SUBSCRIPTION ${id} DISABLE`);
    await target.query(`ALTER SUBSCRIPTION ${id} SET (slot_name = NONE)`);
    await target.query(`DROP SUBSCRIPTION ${id}`);
  }
  return true;
}

/**
 * Drops a replication slot on the source if it is still there, ending the walsender that holds it first.
 * @returns whether the slot existed
 */
export async function dropReplicationSlot(source: pg.Client, slot: string): Promise<boolean> {
  const { rows } = await source.query('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [
    slot,
  ]);
  if (rows.length === 0) return false;
  const pid = (rows[0] as { active_pid: number | null }).active_pid;
  if (pid) await source.query('SELECT pg_terminate_backend($1)', [pid]);
  for (let attempt = 0; ; attempt++) {
    try {
      await source.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return true;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 250)); // the walsender takes a moment to release it
    }
  }
}
