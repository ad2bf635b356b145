import { copyOwners } from '@dmskit/ops-cli';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { prepareMigration, startMigration } from '../helpers/migration.js';
import { type LocalServer, query, startPair, startServer, stopPair } from '../helpers/servers.js';

// The application's roles, owners and privileges, as a real application has them: an owner role, a
// read-write role and a read-only role with SCRAM passwords, a membership, a column grant, default
// privileges, row-level security, role and database settings.
const ROLES = `
CREATE ROLE app_owner NOLOGIN;
CREATE ROLE app_rw LOGIN PASSWORD 'rw-Secret-1' CONNECTION LIMIT 20;
CREATE ROLE app_readers NOLOGIN;
CREATE ROLE app_ro LOGIN PASSWORD 'ro-Secret-2' VALID UNTIL '2030-01-01T00:00:00Z';
GRANT app_readers TO app_ro;
ALTER ROLE app_rw SET search_path = app, public;`;

const SCHEMA = `
CREATE SCHEMA app AUTHORIZATION app_owner;
CREATE TABLE app.accounts (id int PRIMARY KEY, holder text NOT NULL, balance int NOT NULL, note text);
ALTER TABLE app.accounts OWNER TO app_owner;
CREATE TABLE app.audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what text);
ALTER TABLE app.audit OWNER TO app_owner;
INSERT INTO app.accounts SELECT g, 'h' || g, g * 10, 'n' FROM generate_series(1, 200) g;
GRANT USAGE ON SCHEMA app TO app_rw, app_readers;
GRANT SELECT, INSERT, UPDATE ON app.accounts TO app_rw;
GRANT INSERT ON app.audit TO app_rw;
GRANT USAGE ON SEQUENCE app.audit_id_seq TO app_rw;
GRANT SELECT (id, holder, balance) ON app.accounts TO app_readers;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app GRANT SELECT ON TABLES TO app_readers;
ALTER TABLE app.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY rw_all ON app.accounts FOR ALL TO app_rw USING (true);
CREATE POLICY readers_positive ON app.accounts FOR SELECT TO app_readers USING (balance > 100);
COMMENT ON TABLE app.accounts IS 'customer accounts';`;

function as(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

async function tryQuery(url: string, sql: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  try {
    await c.connect();
    // Each probe leaves nothing behind: its transaction is rolled back.
    await c.query('BEGIN');
    const r = await c.query(sql);
    await c.query('ROLLBACK');
    return `ok ${r.rowCount}`;
  } catch (error) {
    return `error ${(error as Error).message}`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe("the application's roles, owners and privileges reach the target", () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;
  beforeAll(async () => {
    ({ source, target, dir } = await startPair('roles'));
    await query(source.url, ROLES);
  });
  afterAll(() => stopPair({ source, target }));

  it('start and cutover: each role logs in on the target with its own password and can do exactly what it could; validate sees a privilege removed', async () => {
    const m = await startMigration(source, target, dir, {
      schema: `${SCHEMA}
        DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'Europe/Paris'); END $$;`,
      tableMappings: [{ action: 'include', schema: 'app', table: '%' }],
      cutover: {
        applicationChecks: [
          {
            role: 'app_rw',
            passwordVariable: 'APP_RW_PASSWORD',
            sql: "SELECT count(*) FROM accounts; INSERT INTO app.audit (what) VALUES ('cutover check')",
          },
        ],
      },
    });
    // preflight runs the application check read-only, as its role, on the target.
    const pre = await runDmskit(
      ['preflight', '--source', m.sourceUrl, '--target', m.targetUrl, '--config', m.configFile, '--json'],
      { env: { APP_RW_PASSWORD: 'rw-Secret-1' } },
    );
    const checks = (JSON.parse(pre.stdout) as { checks: { id: string; passed: boolean; found: string }[] })
      .checks;
    expect(checks.find((c) => c.id === 'application-checks')).toMatchObject({ passed: true });
    expect(checks.find((c) => c.id === 'role-passwords')).toMatchObject({ passed: true });
    // What each role can do on the source before the cutover (it is fenced after), then on the target.
    const probes: [string, string, string][] = [
      ['app_rw', 'rw-Secret-1', 'SELECT count(*) FROM accounts'],
      ['app_rw', 'rw-Secret-1', "INSERT INTO app.accounts VALUES (100000 + pg_backend_pid(), 'x', 1, NULL)"],
      ['app_rw', 'rw-Secret-1', "INSERT INTO app.audit (what) VALUES ('probe')"],
      ['app_rw', 'rw-Secret-1', 'DELETE FROM app.accounts WHERE id = 1'],
      ['app_ro', 'ro-Secret-2', 'SELECT id, holder, balance FROM app.accounts'],
      ['app_ro', 'ro-Secret-2', 'SELECT note FROM app.accounts'],
      ['app_ro', 'ro-Secret-2', "INSERT INTO app.accounts VALUES (999999, 'x', 1, NULL)"],
      ['app_ro', 'wrong-password', 'SELECT 1'],
    ];
    const before = new Map<string, string>();
    for (const [user, password, sql] of probes)
      before.set(`${user} ${sql}`, await tryQuery(as(m.sourceUrl, user, password), sql));
    const rlsOnSource = await tryQuery(
      as(m.sourceUrl, 'app_ro', 'ro-Secret-2'),
      'SELECT id FROM app.accounts',
    );
    const cut = await runDmskit(['cutover', ...m.args], { env: { APP_RW_PASSWORD: 'rw-Secret-1' } });
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stderr).toMatch(/switch: application checks passed: app_rw \([\d.]+m?s\)/);
    expect(cut.stderr + cut.stdout).not.toContain('rw-Secret-1');
    // The check's write was rolled back.
    expect(
      await query(m.targetUrl, "SELECT count(*)::int AS n FROM app.audit WHERE what = 'cutover check'"),
    ).toEqual([{ n: 0 }]);
    for (const [user, password, sql] of probes) {
      const onSource = before.get(`${user} ${sql}`)!;
      const onTarget = await tryQuery(as(m.targetUrl, user, password), sql);
      expect({ user, sql, onTarget: onTarget.replace(/\d+ rows?/, 'n') }).toEqual({
        user,
        sql,
        onTarget: onSource.replace(/\d+ rows?/, 'n'),
      });
    }
    // Row-level security as on the source: app_ro sees only balances over 100.
    expect(await tryQuery(as(m.targetUrl, 'app_ro', 'ro-Secret-2'), 'SELECT id FROM app.accounts')).toBe(
      rlsOnSource,
    );
    expect(rlsOnSource).toBe('ok 190');
    expect(
      await query(
        m.targetUrl,
        "SELECT c.relowner::regrole::text AS owner, c.relrowsecurity AS rls, c.relforcerowsecurity AS force FROM pg_class c WHERE c.oid = 'app.accounts'::regclass",
      ),
    ).toEqual([{ owner: 'app_owner', rls: true, force: true }]);
    expect(await query(m.targetUrl, "SELECT current_setting('timezone') AS tz")).toEqual([
      { tz: 'Europe/Paris' },
    ]);
    const validate = ['validate', '--source', m.sourceUrl, '--target', m.targetUrl, '--config', m.configFile];
    const validated = await runDmskit(validate);
    expect(validated.code, validated.stdout + validated.stderr).toBe(0);
    // A privilege removed on the target is named.
    await query(m.targetUrl, 'REVOKE UPDATE ON app.accounts FROM app_rw');
    const differs = await runDmskit(validate);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toMatch(/privilege.*table app\.accounts: app_rw UPDATE/);
  });

  it('an application check that fails cancels the cutover: the role and the error named, the source unfenced; a missing password refuses before the fence', async () => {
    const m = await startMigration(source, target, dir, {
      schema: SCHEMA,
      tableMappings: [{ action: 'include', schema: 'app', table: '%' }],
      cutover: {
        applicationChecks: [
          {
            role: 'app_ro',
            passwordVariable: 'APP_RO_PASSWORD',
            sql: "INSERT INTO app.audit (what) VALUES ('no')",
          },
        ],
      },
    });
    const missing = await runDmskit(['cutover', ...m.args]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/the password of app_ro is not in \$APP_RO_PASSWORD/);
    const failed = await runDmskit(['cutover', ...m.args], { env: { APP_RO_PASSWORD: 'ro-Secret-2' } });
    expect(failed.code, failed.stderr).toBe(2);
    expect(failed.stderr).toMatch(
      /application check failed on the target: app_ro: permission denied for table audit/,
    );
    expect(failed.stderr).toMatch(/unfenced/);
    await query(m.sourceUrl, "UPDATE app.accounts SET note = 'writable again' WHERE id = 1");
    // Still replicating: the target guard refuses the application again.
    await expect(query(m.targetUrl, "UPDATE app.accounts SET note = 'x' WHERE id = 2")).rejects.toThrow(
      /replicated from the source/,
    );
  });

  it('dmskit roles: --dry-run shows the SQL with the verifier masked; then creates; a role changed on the target is named, --update-roles sets it back', async () => {
    await query(
      source.url,
      "CREATE ROLE app_reporting LOGIN PASSWORD 'rep-Secret-4' CONNECTION LIMIT 7; CREATE ROLE app_batch LOGIN PASSWORD 'batch-Secret-5'",
    );
    const m = await prepareMigration(source, target, dir, {
      schema: 'CREATE TABLE sales (id int PRIMARY KEY); GRANT SELECT ON sales TO app_reporting;',
      // Named by the config only (no object in scope names it): copied too.
      cutover: { applicationRoles: ['app_batch'] },
    });
    const args = ['--config', m.configFile, '--source-url', m.sourceUrl, '--target-url', m.targetUrl];
    const dry = await runDmskit(['roles', ...args, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(1);
    expect(dry.stdout).toMatch(
      /CREATE ROLE "app_reporting" WITH LOGIN .*CONNECTION LIMIT 7 .*PASSWORD '<SCRAM-SHA-256 verifier>'/,
    );
    expect(dry.stdout).not.toMatch(/SCRAM-SHA-256\$/);
    expect(await query(target.url, "SELECT 1 FROM pg_roles WHERE rolname = 'app_reporting'")).toEqual([]);
    const made = await runDmskit(['roles', ...args]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/role app_reporting: created/);
    expect(made.stdout).toMatch(/role app_batch: created/);
    expect(await tryQuery(as(target.urlFor('postgres'), 'app_reporting', 'rep-Secret-4'), 'SELECT 1')).toBe(
      'ok 1',
    );
    await query(target.url, 'ALTER ROLE app_reporting CONNECTION LIMIT 3');
    const differs = await runDmskit(['roles', ...args]);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toMatch(
      /role app_reporting exists on the target and differs: CONNECTION LIMIT 7 on the source, 3 on the target/,
    );
    const updated = await runDmskit(['roles', ...args, '--update-roles']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(
      await query(target.url, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'app_reporting'"),
    ).toEqual([{ rolconnlimit: 7 }]);
    const same = await runDmskit(['roles', ...args]);
    expect(same.code, same.stdout).toBe(0);
    expect(same.stdout).toMatch(/the target has them all/);
  });

  it('dmskit roles as a target user that is no superuser (as on Aurora): roles, passwords, memberships and settings made all the same', async () => {
    await query(
      source.url,
      "CREATE ROLE app_ops NOLOGIN; CREATE ROLE app_svc LOGIN PASSWORD 'svc-Secret-6' IN ROLE app_ops; ALTER ROLE app_svc SET statement_timeout = '5s'",
    );
    await query(target.url, "CREATE ROLE migrator LOGIN CREATEROLE CREATEDB PASSWORD 'mig-Secret-7'");
    const m = await prepareMigration(source, target, dir, {
      schema: 'CREATE TABLE ops (id int PRIMARY KEY); GRANT SELECT ON ops TO app_ops;',
    });
    // As on Aurora, the migration user owns the target database (and so its schema public).
    await query(m.targetUrl, `ALTER DATABASE ${new URL(m.targetUrl).pathname.slice(1)} OWNER TO migrator`);
    const targetAsMigrator = as(m.targetUrl, 'migrator', 'mig-Secret-7');
    const run = await runDmskit([
      'roles',
      '--config',
      m.configFile,
      '--source-url',
      m.sourceUrl,
      '--target-url',
      targetAsMigrator,
    ]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(
      await tryQuery(
        as(m.targetUrl, 'app_svc', 'svc-Secret-6'),
        "SELECT current_setting('statement_timeout')",
      ),
    ).toBe('ok 1');
    expect(
      await query(
        target.url,
        "SELECT pg_has_role('app_svc', 'app_ops', 'MEMBER') AS member, (SELECT rolsuper FROM pg_roles WHERE rolname = 'migrator') AS su",
      ),
    ).toEqual([{ member: true, su: false }]);
    // Owners too: the migration user made the table, and becomes a member of its owner to give it away.
    await query(m.sourceUrl, 'ALTER TABLE ops OWNER TO app_ops');
    await query(targetAsMigrator, 'CREATE TABLE ops (id int PRIMARY KEY)');
    const [s, t] = [
      new pg.Client({ connectionString: m.sourceUrl }),
      new pg.Client({ connectionString: targetAsMigrator }),
    ];
    await Promise.all([s.connect(), t.connect()]);
    try {
      const owners = await copyOwners(s, t, ['public']);
      expect(owners.changed).toBe(1);
      expect(owners.notes).toContain(
        'the migration user migrator was made a member of app_ops (to give it its objects)',
      );
    } finally {
      await Promise.all([s.end(), t.end()]);
    }
    expect(
      await query(
        m.targetUrl,
        "SELECT 'ops'::regclass::oid::regclass::text AS t, (SELECT relowner::regrole::text FROM pg_class WHERE oid = 'ops'::regclass) AS owner",
      ),
    ).toEqual([{ t: 'ops', owner: 'app_ops' }]);
  });

  it('preflight names a session default the target server differs in (server-wide on the source), and says what start copies', async () => {
    const tokyo = await startServer('target', { settings: { TimeZone: 'Asia/Tokyo' } });
    try {
      const db = 'settings_probe';
      await query(source.url, `CREATE DATABASE ${db}`);
      await query(tokyo.url, `CREATE DATABASE ${db}`);
      await query(source.urlFor(db), `ALTER DATABASE ${db} SET DateStyle TO 'SQL, DMY'`);
      const pre = await runDmskit([
        'preflight',
        '--source',
        source.urlFor(db),
        '--target',
        tokyo.urlFor(db),
        '--json',
      ]);
      const checks = (JSON.parse(pre.stdout) as { checks: { id: string; passed: boolean; found: string }[] })
        .checks;
      const settings = checks.find((c) => c.id === 'application-settings')!;
      expect(settings.passed).toBe(false);
      expect(settings.found).toMatch(
        /TimeZone: source \S+ \(\w[\w ]*\), target Asia\/Tokyo \(configuration file|command line\)/,
      );
      expect(settings.found).toMatch(/copied by start: DateStyle: source SQL, DMY \(database\)/);
      expect(checks.find((c) => c.id === 'extension-versions')).toMatchObject({ passed: true });
    } finally {
      await tokyo.stop();
    }
  });

  it('an MD5 password is refused before anything is created, naming the role and the fix', async () => {
    await query(
      source.url,
      "SET password_encryption = 'md5'; CREATE ROLE legacy_app LOGIN PASSWORD 'old-Secret-3'",
    );
    const m = await prepareMigration(source, target, dir, {
      schema: 'CREATE TABLE t (id int PRIMARY KEY); GRANT SELECT ON t TO legacy_app;',
    });
    const run = await runDmskit(['start', ...m.args]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/role legacy_app has an MD5 password.*password_encryption = 'scram-sha-256'/);
    expect(run.stderr).not.toContain('old-Secret-3');
    expect(await query(m.targetUrl, "SELECT 1 FROM pg_tables WHERE tablename = 't'")).toEqual([]);
    expect(await query(target.url, "SELECT 1 FROM pg_roles WHERE rolname = 'legacy_app'")).toEqual([]);
    // preflight says it beforehand.
    const pre = await runDmskit([
      'preflight',
      '--source',
      m.sourceUrl,
      '--target',
      m.targetUrl,
      '--config',
      m.configFile,
      '--json',
    ]);
    expect(pre.code, pre.stderr).toBe(1);
    const found = (JSON.parse(pre.stdout) as { checks: { id: string; passed: boolean; found: string }[] })
      .checks;
    expect(found.find((c) => c.id === 'role-passwords')).toMatchObject({
      passed: false,
      found: expect.stringContaining('legacy_app'),
    });
  });
});
