import { execFileSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { minimalConfig } from '../helpers/configs.js';
import { scratchDir } from '../helpers/scratch.js';
import { createDatabase, type LocalServer, query, startServer } from '../helpers/servers.js';
import { inTerminal } from '../helpers/terminal.js';

/** The last line of stderr: dmskit says what went wrong there. */
function lastLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

describe('the interface as a new user meets it: strict config, one flag vocabulary, clear URLs and passwords', () => {
  let server: LocalServer;
  let url: string;

  beforeAll(async () => {
    server = await startServer('source');
    url = await createDatabase(server, 'Shop Floor');
    await query(
      url,
      `CREATE SCHEMA sales;
       CREATE TABLE sales.orders (id int PRIMARY KEY, total numeric);
       INSERT INTO sales.orders SELECT g, g FROM generate_series(1, 500) g;
       CREATE TABLE public.audit (at timestamptz, what text);
       CREATE TABLE public."Order" (id int PRIMARY KEY);
       CREATE UNLOGGED TABLE sales.cart_cache (id int PRIMARY KEY)`,
    );
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('a config key one letter off, in .ts and JSON, is refused by its path with the nearest known name', async () => {
    const dir = await scratchDir('typo');
    const config = minimalConfig({ cutover: { maxLagSecond: 60 }, tagz: {} });
    await writeFile(path.join(dir, 'typo.json'), JSON.stringify(config));
    await writeFile(
      path.join(dir, 'typo.ts'),
      `export default ${JSON.stringify({ ...config, source: { ...(config.source as object), pasword: {} } })};\n`,
    );
    for (const file of ['typo.json', 'typo.ts']) {
      const run = await runDmskit(['cutover', '--dry-run', '--config', file], { cwd: dir });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain('cutover.maxLagSecond: unknown; did you mean maxLagSeconds?');
      expect(run.stderr).toContain('tagz: unknown; did you mean tags?');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    const ts = await runDmskit(['cutover', '--dry-run', '--config', 'typo.ts'], { cwd: dir });
    expect(ts.stderr).toContain('source.pasword: unknown; did you mean password?');
  });

  it('each malformed URL, under either spelling of the flag, is one line naming the flag, exit 2, no password', async () => {
    const cases: [string, RegExp][] = [
      ['postgres://postgres:p#ss@host/db', /a '#' in the user or password must be percent-encoded as %23/],
      ['postgres://app@host:notaport/db', /port 'notaport' is not a number/],
      ['postgres://app@host:99999/db', /port 99999 is out of range \(1-65535\)/],
      ['postgres://app@[::1:5432/db', /the IPv6 address '\[::1:5432' has no closing '\]'/],
      ['mysql://app@host/db', /expected a postgres:\/\/user@host:port\/database URL/],
    ];
    const commands: [string[], string][] = [
      [['validate', '--target-url', url], 'source'],
      [['rehearse', '--no-sample-data', '--target-url', url], 'source'],
      [['preflight'], 'source'],
      [['catalog'], 'source'],
      [['cutover', '--engine', 'native', '--target-url', url], 'source'],
      [['validate', '--source-url', url], 'target'],
    ];
    for (const [i, [bad, why]] of cases.entries())
      await Promise.all(
        commands.map(async ([args, side], j) => {
          // Each spelling of the flag on every command, across the cases.
          const flag = (i + j) % 2 ? `--${side}` : `--${side}-url`;
          const run = await runDmskit([...args, flag, bad]);
          expect(run.code, `${args[0]} ${flag} ${bad}: ${run.stderr}`).toBe(2);
          expect(run.stderr.trim().split('\n')).toHaveLength(1);
          expect(lastLine(run.stderr)).toMatch(new RegExp(`^dmskit: ${flag}: ${why.source}`));
          expect(run.stderr).not.toContain('p#ss');
        }),
      );
  });

  it('one flag vocabulary: --source/--target and --source-url/--target-url on every command, a typo answered', async () => {
    const unreachable = 'postgres://app@127.0.0.1:1/db';
    for (const args of [
      ['validate', '--source-url', unreachable, '--target-url', url],
      ['validate', '--source', unreachable, '--target', url],
      ['rehearse', '--source', unreachable, '--target', url, '--no-sample-data'],
      ['preflight', '--source-url', unreachable, '--json'],
    ]) {
      const run = await runDmskit(args);
      const said = run.stdout.includes('connection refused') || run.stderr.includes('connection refused');
      expect(said, `${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(true);
      expect(run.code).toBe(2);
    }
    const both = await runDmskit(['validate', '--source', url, '--source-url', unreachable, '--target', url]);
    expect(lastLine(both.stderr)).toBe(
      'dmskit: --source and --source-url are the same flag and were given two values: give one',
    );
    const typo = await runDmskit(['validate', '--sorce-url', url]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('(Did you mean --source-url?)');
    const command = await runDmskit(['valdate']);
    expect(command.stderr).toContain('(Did you mean validate?)');
    const missing = await runDmskit(['validate', '--source-url', url]);
    expect(lastLine(missing.stderr)).toBe(
      'dmskit: --target-url is required (a postgres://user@host:port/database URL)',
    );
    const duration = await runDmskit(['status', '--interval', '5 parsecs']);
    expect(duration.code).toBe(2);
    expect(duration.stderr).toContain('--interval takes a duration such as 30s, 10m or 1h');
  });

  it("no password anywhere: libpq's words, and a passfile ignored for its mode named", async () => {
    const home = await scratchDir('home');
    const noPassword = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
    const bare = await runDmskit(['catalog', '--source-url', noPassword], {
      env: { HOME: home, PGPASSWORD: '' },
    });
    expect(bare.code).toBe(2);
    expect(lastLine(bare.stderr)).toBe(
      `dmskit: no password supplied for user postgres at source 127.0.0.1:${server.port}/postgres (PGPASSWORD, a passfile, or the URL)`,
    );
    const passfile = path.join(home, '.pgpass');
    await writeFile(passfile, `127.0.0.1:${server.port}:*:postgres:${server.password}\n`);
    await chmod(passfile, 0o644);
    const loose = await runDmskit(['catalog', '--source-url', noPassword], {
      env: { HOME: home, PGPASSWORD: '' },
    });
    expect(loose.code).toBe(2);
    expect(lastLine(loose.stderr)).toContain(
      `; the passfile ${passfile} was ignored: group or others may read it (chmod 0600 ${passfile})`,
    );
    await chmod(passfile, 0o600);
    const fine = await runDmskit(
      ['catalog', '--source-url', noPassword, '--out', path.join(home, 'c.json')],
      {
        env: { HOME: home, PGPASSWORD: '' },
      },
    );
    expect(fine.code, fine.stderr).toBe(0);
  });

  it('PGHOST and PGPORT fill a URL without them, and the address printed is the one used', async () => {
    const dir = await scratchDir('pghost');
    const run = await runDmskit(['catalog', '--source', 'postgres:///postgres'], {
      cwd: dir,
      env: {
        PGHOST: '127.0.0.1',
        PGPORT: String(server.port),
        PGUSER: 'postgres',
        PGPASSWORD: server.password,
      },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${server.port} \\(PostgreSQL 15`, 'm'));
    expect(run.stdout).not.toContain(':5432');
    const file = JSON.parse(
      await readFile(path.join(dir, 'catalog', `127.0.0.1-${server.port}.json`), 'utf8'),
    );
    expect(file.server.address).toBe(`127.0.0.1:${server.port}`);
  });

  it('dmskit init writes a typed, commented config that loads as written, and refuses to overwrite it', async () => {
    const dir = await scratchDir('init');
    const run = await runDmskit(['init', '--source-url', url], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /wrote migrations\/shop-floor\.ts \(4 tables\) and catalog\/127\.0\.0\.1-\d+\.json/,
    );
    const text = await readFile(path.join(dir, 'migrations/shop-floor.ts'), 'utf8');
    expect(text).toContain("import type { MigrationConfigInput } from '@dmskit/shared';");
    expect(text).toMatch(/\} satisfies MigrationConfigInput;\n$/);
    expect(text).toContain("database: 'Shop Floor',");
    expect(text).toContain("databaseName: 'Shop_Floor',");
    expect(text).toContain("{ action: 'include', schema: 'public', table: '%' },");
    expect(text).toContain("{ action: 'include', schema: 'sales', table: '%' },");
    expect(text).toContain('majorVersion: 15,');
    expect(text).toMatch(/sourceCatalogFile: '\.\.\/catalog\/127\.0\.0\.1-\d+\.json',/);
    expect(text).toMatch(/1 table\(s\) without a primary key/);
    expect(text).toContain("//   { schema: 'public', table: 'audit' },");
    expect(text).toMatch(/TODO: 1 UNLOGGED table\(s\)/);
    expect(text).toContain("// { action: 'exclude', schema: 'sales', table: 'cart_cache' },");
    expect(text).toMatch(
      /preflight found \d+ problem\(s\)[\s\S]*\n \* {3}- wal-level \(error\): wal_level = replica\n/,
    );
    // What it wrote is a config: another command reads it (the dry run connects nowhere).
    const dry = await runDmskit(['cutover', '--dry-run', '--config', 'migrations/shop-floor.ts'], {
      cwd: dir,
    });
    expect(dry.code, dry.stderr).toBe(0);
    const again = await runDmskit(['init', '--source-url', url], { cwd: dir });
    expect(again.code).toBe(2);
    expect(lastLine(again.stderr)).toBe(
      'dmskit: migrations/shop-floor.ts exists: choose --out, or --force to overwrite it',
    );
    const forced = await runDmskit(['init', '--source-url', url, '--force', '--name', 'floor'], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
  });

  it('preflight --fix-sql prints one script; run as printed, it makes the failed checks pass', async () => {
    const dir = await scratchDir('fix-sql');
    const fix = await runDmskit(['preflight', '--source-url', url, '--fix-sql']);
    expect(fix.code).toBe(1);
    expect(fix.stdout).toContain('ALTER SYSTEM SET wal_level = logical;');
    expect(fix.stdout).toContain('ALTER TABLE "public"."audit" REPLICA IDENTITY FULL;');
    expect(fix.stdout).not.toContain('"orders" REPLICA');
    expect(fix.stdout).toContain('ALTER TABLE "sales"."cart_cache" SET LOGGED;');
    const script = path.join(dir, 'fix.sql');
    await writeFile(script, fix.stdout);
    execFileSync('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-f', script, url], {
      stdio: 'pipe',
    });
    await server.restart('fast');
    const after = await runDmskit(['preflight', '--source-url', url, '--json']);
    const checks = JSON.parse(after.stdout).checks as { id: string; passed: boolean }[];
    for (const id of ['wal-level', 'replica-identity', 'unlogged-tables'])
      expect(checks.find((c) => c.id === id)?.passed, id).toBe(true);
  });

  it('validate in an 80-column terminal: the one table layout fits it, a block per table when columns cannot', async () => {
    await query(url, 'CREATE TABLE IF NOT EXISTS sales.wide_named_table_for_the_layout (id int PRIMARY KEY)');
    const other = await createDatabase(server, 'other');
    const t = await inTerminal(['validate', '--source-url', url, '--target-url', other, '--no-schema'], {
      size: { columns: 80, rows: 24 },
    });
    try {
      const done = await t.exit();
      expect(done.code).toBe(1);
      const screen = t.screen();
      // Too wide for 80 columns even wrapped: a block per table, each reason on one line of its own,
      // no empty cells, nothing the terminal had to wrap.
      expect(screen).toMatch(/^sales\.wide_named_table_for_the_layout {2}missing-on-target$/m);
      expect(screen).toMatch(/^ {4}reason: sales\.orders does not exist on the target$/m);
      expect(screen).not.toMatch(/rows:\s*$/m);
      const table = screen.split('\n').filter((l) => !l.startsWith('  [') && !l.startsWith('DIFFERENT'));
      for (const line of table) expect(line.trimEnd().length).toBeLessThan(80);
    } finally {
      await t.dispose();
    }
  });
});
