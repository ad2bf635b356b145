import { displayName, type MigrationConfig, selectTables, type TableName } from '@dmskit/shared';
import { listTables, qualifiedName, type TableInfo } from '@dmskit/validation';
import pg from 'pg';

/** error: the migration fails or loses data; warning: it works with a risk; info: worth knowing. */
export type Severity = 'error' | 'warning' | 'info';

/** One preflight finding. `passed` checks are listed too, so the report shows what was verified. */
export interface CheckResult {
  /** Stable id, e.g. `wal-level`. */
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly passed: boolean;
  /** What was found, in one line. */
  readonly found: string;
  /** How to fix it (empty when passed). */
  readonly fix: string;
  /** The fix as SQL statements to review and run, on `on` (`preflight --fix-sql`); absent when it is not SQL. */
  readonly sql?: { readonly on: 'source' | 'target'; readonly statements: readonly string[] };
}

/** What the checks read from the two servers, gathered once. */
export interface PreflightFacts {
  readonly source: ServerFacts;
  readonly target: ServerFacts | undefined;
  readonly sourceTables: readonly TableInfo[];
  readonly config: Pick<MigrationConfig, 'task'> & { readonly task: MigrationConfig['task'] };
}

export interface ServerFacts {
  readonly address: string;
  readonly major: number;
  readonly version: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly user: string;
  readonly superuser: boolean;
  readonly replicationRole: boolean;
  /** Member of rds_replication (Aurora and RDS). */
  readonly rdsReplication: boolean;
  /** Member of pg_create_subscription (PostgreSQL 16+: CREATE SUBSCRIPTION without superuser). */
  readonly createSubscription: boolean;
  readonly slotsUsed: number;
  readonly sendersUsed: number;
  readonly ssl: boolean;
  readonly extensions: readonly string[];
  /** Extensions the server could install (pg_available_extensions). */
  readonly availableExtensions: readonly string[];
  readonly largeObjects: number;
  readonly walBytes: number | null;
}

const SETTINGS = [
  'wal_level',
  'max_replication_slots',
  'max_wal_senders',
  'max_slot_wal_keep_size',
  'wal_sender_timeout',
  'ssl',
];

/** Reads the settings, role and usage facts of one server. */
export async function readServerFacts(client: pg.Client, address: string): Promise<ServerFacts> {
  const settings = await client.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [
    SETTINGS,
  ]);
  const s: Record<string, string> = {};
  for (const r of settings.rows as { name: string; setting: string; unit: string | null }[])
    s[r.name] = r.unit
      ? `${r.setting}${r.unit === 'MB' ? 'MB' : r.unit === 'ms' ? 'ms' : r.unit === 's' ? 's' : ` ${r.unit}`}`
      : r.setting;
  const role = (
    await client.query(
      `SELECT current_user AS user, r.rolsuper AS superuser, r.rolreplication AS replication,
              EXISTS (SELECT 1 FROM pg_roles x WHERE x.rolname = 'rds_replication' AND pg_has_role(current_user, x.oid, 'member')) AS rds_replication,
              EXISTS (SELECT 1 FROM pg_roles x WHERE x.rolname = 'pg_create_subscription' AND pg_has_role(current_user, x.oid, 'member')) AS create_subscription,
              current_setting('server_version') AS version, current_setting('server_version_num')::int AS num,
              (SELECT count(*) FROM pg_replication_slots)::int AS slots, (SELECT count(*) FROM pg_stat_replication)::int AS senders,
              coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl,
              (SELECT count(*) FROM pg_largeobject_metadata)::int8 AS large_objects
         FROM pg_roles r WHERE r.rolname = current_user`,
    )
  ).rows[0] as Record<string, unknown>;
  const ext = await client.query('SELECT extname FROM pg_extension ORDER BY 1');
  const avail = await client.query('SELECT name FROM pg_available_extensions ORDER BY 1');
  let walBytes: number | null = null;
  try {
    walBytes = Number(
      (
        (await client.query('SELECT coalesce(sum(size), 0)::int8 AS b FROM pg_ls_waldir()')).rows[0] as {
          b: string;
        }
      ).b,
    );
  } catch {
    walBytes = null; // pg_ls_waldir needs superuser or pg_monitor
  }
  return {
    address,
    major: Math.floor(Number(role.num) / 10_000),
    version: String(role.version),
    settings: s,
    user: String(role.user),
    superuser: Boolean(role.superuser),
    replicationRole: Boolean(role.replication),
    createSubscription: Boolean(role.create_subscription),
    rdsReplication: Boolean(role.rds_replication),
    slotsUsed: Number(role.slots),
    sendersUsed: Number(role.senders),
    ssl: Boolean(role.ssl),
    extensions: ext.rows.map((r: { extname: string }) => r.extname),
    availableExtensions: avail.rows.map((r: { name: string }) => r.name),
    largeObjects: Number(role.large_objects),
    walBytes,
  };
}

/** Column types DMS moves as LOBs from a PostgreSQL source (DMS: "Source data types for PostgreSQL"). */
const LOB_TYPES = new Set(['text', 'bytea', 'json', 'jsonb', 'xml']);
/** Column types DMS does not migrate from PostgreSQL (same page: tsvector, tsquery, and geometric types without PostGIS). */
const UNSUPPORTED_TYPES = new Set([
  'tsvector',
  'tsquery',
  'point',
  'line',
  'lseg',
  'box',
  'path',
  'polygon',
  'circle',
  'txid_snapshot',
  'pg_lsn',
]);

const pass = (id: string, title: string, severity: Severity, found: string): CheckResult => ({
  id,
  title,
  severity,
  passed: true,
  found,
  fix: '',
});
const fail = (
  id: string,
  title: string,
  severity: Severity,
  found: string,
  fix: string,
  sql?: CheckResult['sql'],
): CheckResult => ({ id, title, severity, passed: false, found, fix, ...(sql ? { sql } : {}) });
const onSource = (...statements: string[]): CheckResult['sql'] => ({ on: 'source', statements });

function list(tables: readonly TableName[], max = 8): string {
  const names = tables.slice(0, max).map(displayName);
  return tables.length > max ? `${names.join(', ')} and ${tables.length - max} more` : names.join(', ');
}

function parseMb(value: string | undefined): number {
  if (!value) return Number.NaN;
  return Number.parseInt(value, 10);
}

/**
 * The server-level checks of a PostgreSQL source (DMS: "Using a PostgreSQL database as an AWS DMS
 * source"; PostgreSQL: "Logical Replication > Configuration Settings"). `streams`: the replication
 * streams the migration opens (its DMS tasks, `task.shards`; 1 for the native engine), each a slot and a
 * WAL sender.
 */
export function sourceServerChecks(f: ServerFacts, cdc: boolean, streams = 1): CheckResult[] {
  const out: CheckResult[] = [];
  const wal = f.settings.wal_level;
  out.push(
    wal === 'logical' || !cdc
      ? pass('wal-level', 'wal_level is logical', 'error', `wal_level = ${wal}`)
      : fail(
          'wal-level',
          'wal_level is logical',
          'error',
          `wal_level = ${wal}`,
          'ALTER SYSTEM SET wal_level = logical; restart the server (on RDS/Aurora: rds.logical_replication = 1)',
          onSource('ALTER SYSTEM SET wal_level = logical; -- takes effect after a restart'),
        ),
  );
  const slots = Number(f.settings.max_replication_slots);
  // One slot per DMS task (task.shards) or for the native subscription, plus room for the tables native
  // table sync copies at the same time; each task or subscription also holds a WAL sender.
  const needSlots = f.slotsUsed + streams;
  out.push(
    slots >= needSlots + 2
      ? pass(
          'replication-slots',
          'free replication slots',
          'error',
          `max_replication_slots = ${slots}, ${f.slotsUsed} in use`,
        )
      : fail(
          'replication-slots',
          'free replication slots',
          'error',
          `max_replication_slots = ${slots}, ${f.slotsUsed} in use`,
          `set max_replication_slots to at least ${needSlots + 4} and restart`,
          onSource(
            `ALTER SYSTEM SET max_replication_slots = ${needSlots + 4}; -- takes effect after a restart`,
          ),
        ),
  );
  const senders = Number(f.settings.max_wal_senders);
  out.push(
    senders >= f.sendersUsed + streams + 2
      ? pass(
          'wal-senders',
          'free WAL senders',
          'error',
          `max_wal_senders = ${senders}, ${f.sendersUsed} in use`,
        )
      : fail(
          'wal-senders',
          'free WAL senders',
          'error',
          `max_wal_senders = ${senders}, ${f.sendersUsed} in use`,
          `set max_wal_senders to at least ${f.sendersUsed + streams + 4} and restart`,
          onSource(
            `ALTER SYSTEM SET max_wal_senders = ${f.sendersUsed + streams + 4}; -- takes effect after a restart`,
          ),
        ),
  );
  const keep = parseMb(f.settings.max_slot_wal_keep_size);
  const walNow =
    f.walBytes === null
      ? 'WAL size unknown (needs pg_monitor)'
      : `WAL now ${Math.round(f.walBytes / 1024 / 1024)} MB`;
  out.push(
    keep === -1
      ? fail(
          'slot-wal-keep-size',
          'WAL a slot may retain is bounded',
          'warning',
          `max_slot_wal_keep_size = -1 (unlimited); ${walNow}`,
          'a stalled task can fill the disk with WAL: set max_slot_wal_keep_size (for example 10% of the WAL volume) and keep enough free disk for a day of WAL',
          onSource(
            "ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; -- choose about 10% of the WAL volume's free space",
            'SELECT pg_reload_conf();',
          ),
        )
      : keep < 1024
        ? fail(
            'slot-wal-keep-size',
            'WAL a slot may retain is bounded',
            'warning',
            `max_slot_wal_keep_size = ${keep}MB; ${walNow}`,
            'under 1 GB a short outage of the task invalidates the slot: raise it to hours of WAL',
          )
        : pass(
            'slot-wal-keep-size',
            'WAL a slot may retain is bounded',
            'warning',
            `max_slot_wal_keep_size = ${keep}MB; ${walNow}`,
          ),
  );
  const timeout = Number.parseInt(f.settings.wal_sender_timeout ?? '60000', 10);
  out.push(
    timeout === 0 || timeout >= 10_000
      ? pass(
          'wal-sender-timeout',
          'wal_sender_timeout leaves DMS time',
          'warning',
          `wal_sender_timeout = ${f.settings.wal_sender_timeout}`,
        )
      : fail(
          'wal-sender-timeout',
          'wal_sender_timeout leaves DMS time',
          'warning',
          `wal_sender_timeout = ${f.settings.wal_sender_timeout}`,
          'set wal_sender_timeout to 0 or at least 10000 ms (DMS ends slow sessions otherwise)',
          onSource("ALTER SYSTEM SET wal_sender_timeout = '60s';", 'SELECT pg_reload_conf();'),
        ),
  );
  const can = f.superuser || f.replicationRole || f.rdsReplication;
  out.push(
    can
      ? pass(
          'replication-privilege',
          'the user may replicate',
          'error',
          `${f.user}: ${f.superuser ? 'superuser' : f.replicationRole ? 'REPLICATION' : 'rds_replication'}`,
        )
      : fail(
          'replication-privilege',
          'the user may replicate',
          'error',
          `${f.user} has neither REPLICATION nor rds_replication`,
          `ALTER ROLE ${f.user} WITH REPLICATION (on Aurora/RDS: GRANT rds_replication TO ${f.user})`,
          onSource(`ALTER ROLE ${pg.escapeIdentifier(f.user)} WITH REPLICATION;`),
        ),
  );
  out.push(
    f.largeObjects === 0
      ? pass('large-objects', 'no large objects', 'warning', 'pg_largeobject is empty')
      : fail(
          'large-objects',
          'no large objects',
          'warning',
          `${f.largeObjects} large object(s) in pg_largeobject`,
          'DMS and logical replication do not migrate large objects: move them to bytea columns or copy them with pg_dump --large-objects at cutover',
        ),
  );
  return out;
}

/** The checks of the tables in scope: keys, data types, LOB sizes, partitions, sequences. */
export async function tableChecks(source: pg.Client, facts: PreflightFacts): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const task = facts.config.task;
  const cdc = task.migrationType !== 'full-load';
  const tables = selectTables(facts.sourceTables, task.tableMappings);
  const keyless = tables.filter((t) => !t.hasReplicaIdentity);
  out.push(
    keyless.length === 0
      ? pass(
          'replica-identity',
          'every table has a primary key or REPLICA IDENTITY',
          cdc ? 'error' : 'info',
          `${tables.length} table(s) in scope, all keyed`,
        )
      : fail(
          'replica-identity',
          'every table has a primary key or REPLICA IDENTITY',
          cdc ? 'error' : 'info',
          `${keyless.length} table(s) without: ${list(keyless)}`,
          'their UPDATE and DELETE are not replicated: add a primary key, or ALTER TABLE ... REPLICA IDENTITY FULL',
          onSource(
            '-- a primary key is better where the table has a unique, not-null column set: ALTER TABLE ... ADD PRIMARY KEY (...)',
            ...keyless.map((t) => `ALTER TABLE ${qualifiedName(t)} REPLICA IDENTITY FULL;`),
          ),
        ),
  );
  const unlogged = tables.filter((t) => t.unlogged);
  out.push(
    unlogged.length === 0
      ? pass('unlogged-tables', 'no table in scope is UNLOGGED', cdc ? 'error' : 'info', 'none')
      : fail(
          'unlogged-tables',
          'no table in scope is UNLOGGED',
          cdc ? 'error' : 'info',
          `${unlogged.length} UNLOGGED table(s): ${list(unlogged)}`,
          'their changes never reach the WAL, so CDC cannot carry them (PostgreSQL: "CREATE PUBLICATION"): make them logged, or exclude them in task.tableMappings',
          onSource(...unlogged.map((t) => `ALTER TABLE ${qualifiedName(t)} SET LOGGED;`)),
        ),
  );
  const unsupported: string[] = [];
  const lobs: { table: TableInfo; column: string; type: string }[] = [];
  for (const t of tables) {
    for (const c of t.columns) {
      const base = c.type.replace(/\(.*\)$/, '').replace(/\[\]$/, '');
      if (UNSUPPORTED_TYPES.has(base)) unsupported.push(`${displayName(t)}.${c.name} (${c.type})`);
      else if (LOB_TYPES.has(base) || c.type.endsWith('[]'))
        lobs.push({ table: t, column: c.name, type: c.type });
    }
  }
  out.push(
    unsupported.length === 0
      ? pass('unsupported-types', 'no column of a type DMS does not migrate', 'error', 'none')
      : fail(
          'unsupported-types',
          'no column of a type DMS does not migrate',
          'error',
          unsupported.slice(0, 10).join(', '),
          'convert these columns (for example to text) or migrate these tables with the native engine',
        ),
  );
  let largest = { bytes: 0, where: '' };
  for (const l of lobs.slice(0, 200)) {
    const sample = l.table.bytes > 256 * 1024 * 1024 ? ' TABLESAMPLE SYSTEM (1)' : '';
    const { rows } = await source.query(
      `SELECT coalesce(max(${l.type === 'bytea' ? `octet_length(${pg.escapeIdentifier(l.column)})` : `octet_length(${pg.escapeIdentifier(l.column)}::text)`}), 0)::int8 AS b FROM ONLY ${qualifiedName(l.table)}${sample}`, // bytea: its bytes; other LOBs: their text
    );
    const b = Number((rows[0] as { b: string }).b);
    if (b > largest.bytes) largest = { bytes: b, where: `${displayName(l.table)}.${l.column}` };
  }
  const limitBytes = task.lob.maxLobSizeKb * 1024;
  const lobFound = `${lobs.length} LOB column(s) (text, bytea, json, jsonb, xml, arrays); largest value ${Math.ceil(largest.bytes / 1024)} KB${largest.where ? ` in ${largest.where}` : ''}`;
  out.push(
    task.lob.mode !== 'limited' || largest.bytes <= limitBytes
      ? pass(
          'lob-size',
          "LOB values fit the task's LOB mode",
          'error',
          `${lobFound}; mode ${task.lob.mode}, max ${task.lob.maxLobSizeKb} KB`,
        )
      : fail(
          'lob-size',
          "LOB values fit the task's LOB mode",
          'error',
          `${lobFound}; limited mode truncates at ${task.lob.maxLobSizeKb} KB`,
          `raise task.lob.maxLobSizeKb to at least ${Math.ceil(largest.bytes / 1024)}, or use full LOB mode for the tables that need it (task.tableSettings)`,
        ),
  );
  const partitions = facts.sourceTables.filter((t) => t.partitionOf);
  const parents = [...new Map(partitions.map((p) => [displayName(p.partitionOf!), p.partitionOf!])).values()];
  out.push(
    parents.length === 0
      ? pass(
          'partitioned-tables',
          'partitioned tables are migrated through their partitions',
          'info',
          'no partitioned table',
        )
      : fail(
          'partitioned-tables',
          'partitioned tables are migrated through their partitions',
          'info',
          `${parents.length} partitioned table(s): ${list(parents)}`,
          'select the partitions, not the parent, in the DMS selection rules; dmskit pre-creates the parent with pg_dump',
        ),
  );
  const seq = await source.query(
    "SELECT count(*)::int AS n FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
  );
  const n = (seq.rows[0] as { n: number }).n;
  out.push(
    n === 0
      ? pass('sequences', 'sequence values are carried over', 'info', 'no sequence')
      : fail(
          'sequences',
          'sequence values are carried over',
          'info',
          `${n} sequence(s): DMS and logical replication do not migrate their values`,
          'dmskit cutover copies them after the fence; set them yourself if you cut over by hand',
        ),
  );
  return out;
}

/**
 * The fall-back path (`cutover.fallback`): the target publishes to the old source after the cutover, so
 * it needs logical decoding (Aurora: `rds.logical_replication = 1`, "Setting up logical replication for
 * your Aurora PostgreSQL DB cluster"), a user allowed to replicate (`rds_replication` on Aurora), a free
 * slot and walsender; and the source's user must be allowed to create subscriptions (superuser before
 * PostgreSQL 16, `pg_create_subscription` from 16: "CREATE SUBSCRIPTION").
 */
export function fallbackChecks(
  source: ServerFacts,
  target: ServerFacts | undefined,
  fallback: boolean,
): CheckResult[] {
  if (!fallback) return [];
  const severity: Severity = 'error';
  const out: CheckResult[] = [];
  const canSubscribe = source.superuser || (source.major >= 16 && source.createSubscription);
  out.push(
    canSubscribe
      ? pass(
          'fallback-source-subscribe',
          'the source user may create the fall-back subscription',
          severity,
          `${source.user}`,
        )
      : fail(
          'fallback-source-subscribe',
          'the source user may create the fall-back subscription',
          severity,
          `${source.user} is not a superuser${source.major >= 16 ? ' nor a member of pg_create_subscription' : ''}`,
          source.major >= 16
            ? `GRANT pg_create_subscription TO ${source.user}, or set cutover.fallback: false`
            : `connect as a superuser for the cutover, or set cutover.fallback: false`,
          source.major >= 16
            ? onSource(`GRANT pg_create_subscription TO ${pg.escapeIdentifier(source.user)};`)
            : undefined,
        ),
  );
  if (!target) return out;
  const logical = target.settings.wal_level === 'logical';
  out.push(
    logical
      ? pass(
          'fallback-target-logical',
          'the target can publish (logical decoding)',
          severity,
          'wal_level = logical',
        )
      : fail(
          'fallback-target-logical',
          'the target can publish (logical decoding)',
          severity,
          `wal_level = ${target.settings.wal_level ?? 'unknown'}`,
          'Aurora: set rds.logical_replication = 1 in the cluster parameter group and reboot the writer (the stack does it when cutover.fallback is on)',
        ),
  );
  const mayReplicate = target.superuser || target.replicationRole || target.rdsReplication;
  out.push(
    mayReplicate
      ? pass('fallback-target-replication', 'the target user may replicate', severity, target.user)
      : fail(
          'fallback-target-replication',
          'the target user may replicate',
          severity,
          `${target.user} has neither REPLICATION nor rds_replication`,
          `GRANT rds_replication TO ${target.user} (Aurora), or ALTER ROLE ${target.user} REPLICATION`,
          {
            on: 'target',
            statements: [
              `GRANT rds_replication TO ${pg.escapeIdentifier(target.user)}; -- Aurora; elsewhere ALTER ROLE ... REPLICATION`,
            ],
          },
        ),
  );
  const freeSlots = Number.parseInt(target.settings.max_replication_slots ?? '0', 10) - target.slotsUsed;
  out.push(
    freeSlots >= 1
      ? pass(
          'fallback-target-slots',
          'a replication slot is free on the target',
          severity,
          `${freeSlots} free`,
        )
      : fail(
          'fallback-target-slots',
          'a replication slot is free on the target',
          severity,
          `max_replication_slots = ${target.settings.max_replication_slots}, ${target.slotsUsed} in use`,
          'raise max_replication_slots in the cluster parameter group (a reboot)',
        ),
  );
  return out;
}

/** Checks that compare the two servers, and the target's readiness. */
export async function targetChecks(
  target: pg.Client | undefined,
  facts: PreflightFacts,
): Promise<CheckResult[]> {
  const t = facts.target;
  if (!t || !target) return [];
  const out: CheckResult[] = [];
  out.push(
    t.major >= facts.source.major
      ? pass(
          'major-version',
          'target at least as new as the source',
          'error',
          `source ${facts.source.major}, target ${t.major}`,
        )
      : fail(
          'major-version',
          'target at least as new as the source',
          'error',
          `source ${facts.source.major}, target ${t.major}`,
          `use an Aurora PostgreSQL ${facts.source.major} or newer target (target.engineVersion)`,
        ),
  );
  const missing = facts.source.extensions.filter((e) => !t.availableExtensions.includes(e));
  out.push(
    missing.length === 0
      ? pass(
          'extensions',
          'every source extension is available on the target',
          'error',
          `${facts.source.extensions.length} extension(s)`,
        )
      : fail(
          'extensions',
          'every source extension is available on the target',
          'error',
          `not available on the target: ${missing.join(', ')}`,
          'install them on the target, or remove the objects that use them from the migration',
        ),
  );
  const tables = selectTables(facts.sourceTables, facts.config.task.tableMappings);
  const { rows } = await target.query(
    `SELECT n.nspname AS schema, c.relname AS table, c.reltuples::int8 AS est FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((x) => x.schema), tables.map((x) => x.table)],
  );
  const withRows: TableName[] = [];
  for (const r of rows as { schema: string; table: string }[]) {
    const any = await target.query(`SELECT EXISTS (SELECT 1 FROM ONLY ${qualifiedName(r)}) AS any`);
    if ((any.rows[0] as { any: boolean }).any) withRows.push(r);
  }
  out.push(
    withRows.length === 0
      ? pass(
          'target-not-empty',
          'the target tables are empty',
          'error',
          rows.length ? `${rows.length} table(s) pre-created, all empty` : 'no table of the scope exists yet',
        )
      : fail(
          'target-not-empty',
          'the target tables are empty',
          'error',
          `${withRows.length} table(s) already hold rows: ${list(withRows)}`,
          'the DMS full load empties them first (TargetTablePrepMode TRUNCATE_BEFORE_LOAD) and the native one refuses them: check that those rows may go, then TRUNCATE them, or migrate into a new database',
        ),
  );
  return out;
}

/** Connectivity and TLS of one side: the connection was made (or not) and whether it is encrypted. */
export function connectionChecks(
  side: 'source' | 'target',
  facts: ServerFacts | undefined,
  error: string | undefined,
): CheckResult[] {
  if (!facts)
    return [
      fail(
        `connectivity-${side}`,
        `${side} reachable`,
        'error',
        error ?? 'not reachable',
        `open the network path and pg_hba.conf for the ${side}, and check host, port, user and password`,
      ),
    ];
  return [
    pass(
      `connectivity-${side}`,
      `${side} reachable`,
      'error',
      `${facts.address}, PostgreSQL ${facts.version}`,
    ),
    facts.ssl
      ? pass(`tls-${side}`, `${side} connection encrypted`, 'warning', 'TLS in use')
      : fail(
          `tls-${side}`,
          `${side} connection encrypted`,
          'warning',
          `ssl = ${facts.settings.ssl ?? 'off'}, this connection is not encrypted`,
          `turn on ssl on the ${side} and connect with sslmode=verify-full`,
        ),
  ];
}

export { listTables };
