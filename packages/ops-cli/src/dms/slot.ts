import { dmsSlotName, ExternalError, type MigrationConfig } from '@dmskit/shared';
import type pg from 'pg';
import { fileStateStore } from '../runbook/state.js';

/** Logical decoding plugins DMS uses on a PostgreSQL source (PostgreSQLSettings.PluginName). */
const DMS_PLUGINS = ['test_decoding', 'pglogical'];

/**
 * Whether the task reads a slot dmskit names and creates: a CDC-only task (`migrationType: cdc`) starts
 * at a native start point, which needs the endpoint's `SlotName` and the task's `CdcStartPosition`
 * (DMS API reference: "PostgreSQLSettings", SlotName). A full-load-and-cdc task lets DMS create its slot.
 */
export function usesNamedSlot(config: Pick<MigrationConfig, 'task'>): boolean {
  return config.task.migrationType === 'cdc';
}

/**
 * The replication slot the DMS task reads on the source: the name the stack gives it for a CDC-only task;
 * otherwise the slot DMS created, found among the logical slots of the source database that use a DMS
 * plugin and are not dmskit's own (the one in use when there are several).
 * @throws ExternalError when there is none (the task has not started), or several could be it
 */
export async function resolveDmsSlot(source: pg.Client, config: MigrationConfig): Promise<string> {
  return (await resolveDmsSlots(source, config))[0]!;
}

/**
 * The slots the migration's DMS tasks read (one per task, `task.shards`): the named slot of a CDC-only
 * task, else the logical slots DMS created on the source database (not dmskit's own, with a DMS plugin):
 * exactly as many as there are tasks, or as many of them in use.
 * @throws ExternalError when fewer exist (a task has not started CDC), or more could be theirs
 */
export async function resolveDmsSlots(source: pg.Client, config: MigrationConfig): Promise<string[]> {
  if (usesNamedSlot(config)) return [dmsSlotName(config)];
  const want = config.task.shards;
  const { rows } = await source.query<{ slot_name: string; active: boolean }>(
    `SELECT slot_name, active FROM pg_replication_slots
      WHERE slot_type = 'logical' AND database = current_database() AND plugin = ANY($1)
        AND slot_name NOT LIKE 'dmskit\\_%'
      ORDER BY slot_name`,
    [DMS_PLUGINS],
  );
  if (rows.length === want) return rows.map((r) => r.slot_name);
  const active = rows.filter((r) => r.active);
  if (active.length === want) return active.map((r) => r.slot_name);
  if (rows.length < want)
    throw new ExternalError(
      want === 1
        ? `no DMS replication slot on the source database ${config.source.database}: the task has not started CDC yet (dmskit start)`
        : `${rows.length} of ${want} DMS replication slots on the source database ${config.source.database}: not every task has started CDC yet (dmskit start)`,
    );
  const inUse = active.length ? `; in use: ${active.map((r) => r.slot_name).join(', ')}` : '';
  throw new ExternalError(
    want === 1
      ? `several logical slots on the source could be the DMS task's (${rows.map((r) => r.slot_name).join(', ')}${inUse}): drop the ones no task uses`
      : `${rows.length} logical slots on the source could be the ${want} DMS tasks' (${rows.map((r) => r.slot_name).join(', ')}${inUse}): drop the ones no task uses`,
  );
}

/**
 * Before a CDC-only task's first start: creates its slot on the source when missing (the plugin DMS
 * will use: pglogical when chosen, else test_decoding) and returns the native start point, the slot's
 * confirmed LSN, for StartReplicationTask's CdcStartPosition (DMS: "Performing replication starting
 * from a CDC start point").
 * @returns the slot name and the LSN (`X/Y`), and whether dmskit created the slot
 */
export async function prepareCdcStartPoint(
  source: pg.Client,
  config: MigrationConfig,
): Promise<{ slot: string; lsn: string; created: boolean }> {
  const slot = dmsSlotName(config);
  const plugin = config.replicationInstance.plugin === 'pglogical' ? 'pglogical' : 'test_decoding';
  const existing = await source.query<{ lsn: string | null; plugin: string }>(
    'SELECT coalesce(confirmed_flush_lsn, restart_lsn)::text AS lsn, plugin FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  if (existing.rows[0]) {
    if (existing.rows[0].plugin !== plugin)
      throw new ExternalError(
        `replication slot ${slot} on the source uses ${existing.rows[0].plugin}, not ${plugin}: drop it or set replicationInstance.plugin`,
      );
    return { slot, lsn: existing.rows[0].lsn ?? '0/0', created: false };
  }
  const { rows } = await source.query<{ lsn: string }>(
    'SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, $2)',
    [slot, plugin],
  );
  return { slot, lsn: rows[0]!.lsn, created: true };
}

/**
 * What `dmskit start` records before it creates a CDC-only task's slot, so that a run killed in
 * between, or `dmskit abandon`, can remove it (never guessed from a name alone): the slot, and whether
 * the task has started reading it.
 */
export interface DmsSlotRecord {
  readonly version: 1;
  readonly migration: string;
  readonly slot: string;
  /** When the slot was about to be created, and when the task started reading it (ISO times). */
  readonly steps: { recorded: string; started?: string };
}

/** The file store of {@link DmsSlotRecord} (`.dmskit/dms-slot-<name>-<environment>.json`). */
export function dmsSlotStore(file: string) {
  return fileStateStore<DmsSlotRecord>(file, { name: 'dms-slot', version: 1 });
}

/**
 * Drops the recorded slot when no process reads it (a running task does: stop it first).
 * @returns what happened, one line
 */
export async function dropRecordedSlot(
  source: pg.Client,
  slot: string,
): Promise<'dropped' | 'absent' | 'active'> {
  const { rows } = await source.query<{ active: boolean }>(
    'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  if (!rows[0]) return 'absent';
  if (rows[0].active) return 'active';
  await source.query('SELECT pg_drop_replication_slot($1)', [slot]);
  return 'dropped';
}

/**
 * What `dmskit start` records before it creates the DMS tasks' watermark tables on the source (one per
 * task), so that `dmskit abandon` removes them by the record and not by a guess.
 */
export interface DmsWatermarkRecord {
  readonly version: 1;
  readonly migration: string;
  /** Tables in the `dmskit` schema, on the source (and, once DMS copied them, on the target). */
  readonly tables: readonly string[];
  readonly steps: { recorded: string };
}

/** The file store of {@link DmsWatermarkRecord} (`.dmskit/dms-watermarks-<name>-<environment>.json`). */
export function dmsWatermarkStore(file: string) {
  return fileStateStore<DmsWatermarkRecord>(file, { name: 'dms-watermarks', version: 1 });
}
