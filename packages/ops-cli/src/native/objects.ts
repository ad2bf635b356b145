import { UsageError } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import pg from 'pg';
import { dropWatermarkTable } from '../runbook/watermark.js';
import { sleep } from '../util/time.js';
import { dropDdlCapture } from './ddl-capture.js';
import { dropPublications } from './publication.js';
import type { NativeStartState } from './start-state.js';
import { dropReplicationSlot, dropSubscription } from './subscription.js';
import { dropTargetGuard } from './target-guard.js';

/**
 * Refuses to create an object whose name is taken by one this migration did not create: a publication
 * or subscription in the same database, or a replication slot anywhere on the source server (slot names
 * are server-wide: PostgreSQL "Replication Slots").
 * @throws UsageError naming the object and where it is
 */
export async function assertNamesFree(
  source: pg.Client,
  target: pg.Client,
  state: NativeStartState,
  names: { publications?: readonly string[]; subscription?: string; slot?: string },
): Promise<void> {
  const taken: string[] = [];
  const ours = new Set(state.created.publications);
  if (names.publications?.length) {
    const { rows } = await source.query(
      'SELECT pubname FROM pg_publication WHERE pubname = ANY($1::text[])',
      [names.publications],
    );
    for (const r of rows as { pubname: string }[])
      if (!ours.has(r.pubname) && state.intent !== 'publication')
        taken.push(`publication ${r.pubname} already exists on the source`);
  }
  const mine = state.created.subscription || state.intent === 'subscription';
  if (names.subscription && !mine) {
    const { rowCount } = await target.query(
      'SELECT 1 FROM pg_subscription WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
      [names.subscription],
    );
    if (rowCount) taken.push(`subscription ${names.subscription} already exists on the target`);
  }
  if (names.slot && !mine && state.created.slot !== names.slot) {
    const { rows } = await source.query('SELECT database FROM pg_replication_slots WHERE slot_name = $1', [
      names.slot,
    ]);
    const r = rows[0] as { database: string | null } | undefined;
    if (r)
      taken.push(
        `replication slot ${names.slot} already exists on the source (database ${r.database ?? 'none'})`,
      );
  }
  if (taken.length)
    throw new UsageError(
      `${taken.join('; ')}, not created by this start of ${state.migration}: another migration with the same name and environment? Remove it, or rename this migration`,
    );
}

/** What a cleanup removed, and the SQL of what it could not. */
export interface CleanupResult {
  readonly removed: readonly string[];
  /** SQL to run by hand, with the server it runs on. */
  readonly left: readonly string[];
}

async function withRetry<T>(
  input: ConnectionInput,
  role: string,
  retryMs: number,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + retryMs;
  for (;;) {
    let c: pg.Client | undefined;
    try {
      c = await openConnection(input, role, { applicationName: 'dmskit-cleanup', connectTimeoutMs: 5000 });
      // A fenced source starts sessions read-only; dmskit's own may write.
      await c.query('SET default_transaction_read_only = off');
      return await fn(c);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    } finally {
      await closeQuietly(c);
    }
  }
}

/**
 * Drops what a native start recorded as created (or was creating), through new connections, retrying
 * each side for about `retryMs` (default 15 s): the subscription on the target, then the slot and
 * publications on the source, then the watermark tables. The state is updated to what is left.
 * Never touches an object the state does not name.
 */
export async function dropCreatedObjects(options: {
  source: ConnectionInput;
  target: ConnectionInput;
  state: NativeStartState;
  retryMs?: number;
}): Promise<CleanupResult> {
  const { state } = options;
  const retryMs = options.retryMs ?? 15_000;
  const removed: string[] = [];
  const left: string[] = [];
  const created = state.created;
  const subscribing = state.intent === 'subscription';
  const subscription = created.subscription ?? (subscribing ? state.names.subscription : undefined);
  const slot = created.slot ?? (subscribing ? state.names.slot : undefined);
  const publications = [
    ...new Set([
      ...created.publications,
      ...(state.intent === 'publication' ? state.names.publications : []),
    ]),
  ];
  if (subscription) {
    try {
      if (await withRetry(options.target, 'target', retryMs, (c) => dropSubscription(c, subscription)))
        removed.push(`subscription ${subscription}`);
      created.subscription = undefined;
    } catch {
      left.push(`target: DROP SUBSCRIPTION ${pg.escapeIdentifier(subscription)};`);
    }
  }
  try {
    await withRetry(options.source, 'source', retryMs, async (c) => {
      if (slot) {
        const { rows } = await c.query(
          'SELECT database = current_database() AS ours FROM pg_replication_slots WHERE slot_name = $1',
          [slot],
        );
        // A slot of that name in another database was not created by this start.
        if ((rows[0] as { ours: boolean } | undefined)?.ours && (await dropReplicationSlot(c, slot)))
          removed.push(`replication slot ${slot}`);
        created.slot = undefined;
      }
      if (publications.length) {
        await dropPublications(c, publications);
        removed.push(`publication ${publications.join(', ')}`);
        created.publications = [];
      }
      if (created.ddlCapture) {
        await dropDdlCapture(c, created.ddlCapture);
        removed.push('DDL capture');
        created.ddlCapture = undefined;
      }
      if (created.watermark?.source) {
        await dropWatermarkTable(c, created.watermark.table);
        created.watermark.source = false;
      }
    });
  } catch {
    if (created.slot ?? slot) left.push(`source: SELECT pg_drop_replication_slot('${slot}');`);
    for (const p of created.publications.length ? created.publications : publications)
      left.push(`source: DROP PUBLICATION IF EXISTS ${pg.escapeIdentifier(p)};`);
    if (created.ddlCapture)
      left.push(
        `source: DROP EVENT TRIGGER IF EXISTS ${pg.escapeIdentifier(`${created.ddlCapture.trigger}_end`)}, ${pg.escapeIdentifier(`${created.ddlCapture.trigger}_drop`)};`,
      );
  }
  if (created.targetGuard) {
    const trigger = created.targetGuard;
    await withRetry(options.target, 'target', retryMs, (c) => dropTargetGuard(c, trigger))
      .then((n) => {
        if (n) removed.push(`target guard on ${n} table(s)`);
        created.targetGuard = undefined;
      })
      .catch(() =>
        left.push(`target: DROP FUNCTION IF EXISTS dmskit.${pg.escapeIdentifier(trigger)}() CASCADE;`),
      );
  }
  if (created.watermark?.target) {
    const table = created.watermark.table;
    await withRetry(options.target, 'target', retryMs, (c) => dropWatermarkTable(c, table))
      .then(() => {
        if (created.watermark) created.watermark.target = false;
      })
      .catch(() => left.push(`target: DROP TABLE IF EXISTS dmskit.${pg.escapeIdentifier(table)};`));
  }
  if (created.watermark && !created.watermark.source && !created.watermark.target)
    created.watermark = undefined;
  if (!left.length) {
    state.intent = undefined;
    for (const s of [
      'watermark',
      'publication',
      'ddl-capture',
      'subscription',
      'full-load',
      'post-data',
      'target-guard',
    ] as const)
      delete state.steps[s];
  }
  return { removed, left };
}
