import type pg from 'pg';
import type { CheckResult } from './checks.js';

/**
 * The settings an application's results depend on: how times, dates, numbers and unqualified names are
 * read and written (PostgreSQL: "Client Connection Defaults").
 */
const APPLICATION_SETTINGS = [
  'TimeZone',
  'DateStyle',
  'IntervalStyle',
  'search_path',
  'lc_monetary',
  'lc_numeric',
  'lc_time',
  'default_transaction_isolation',
  'standard_conforming_strings',
  'extra_float_digits',
];

interface SettingRow {
  name: string;
  setting: string;
  source: string;
}

async function settingsOf(c: pg.Client): Promise<Map<string, SettingRow>> {
  const { rows } = await c.query(
    'SELECT name, setting, source FROM pg_settings WHERE name = ANY($1::text[])',
    [APPLICATION_SETTINGS],
  );
  return new Map((rows as SettingRow[]).map((r) => [r.name, r]));
}

interface ExtensionRow {
  name: string;
  version: string;
}

/** Compares dotted versions (`1.10` > `1.9`); non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const d = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/**
 * What the application relies on that the target server must offer: the versions of the source's
 * extensions (`pg_available_extension_versions` on the target: the source's version, or a newer one that
 * `ALTER EXTENSION ... UPDATE` reaches, PostgreSQL "ALTER EXTENSION"), and the settings of the table above
 * where the target's differ from the source's server-wide values (start copies database and role
 * settings, `ALTER DATABASE/ROLE ... SET`; server-wide ones belong in the Aurora parameter groups).
 */
export async function settingsChecks(source: pg.Client, target: pg.Client): Promise<CheckResult[]> {
  const ext = (
    await source.query(
      "SELECT extname AS name, extversion AS version FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1",
    )
  ).rows as ExtensionRow[];
  const { rows: offered } = await target.query(
    'SELECT name, array_agg(version) AS versions FROM pg_available_extension_versions WHERE name = ANY($1::text[]) GROUP BY name',
    [ext.map((e) => e.name)],
  );
  const versions = new Map(
    (offered as { name: string; versions: string[] }[]).map((r) => [r.name, r.versions]),
  );
  const older: string[] = [];
  for (const e of ext) {
    const on = versions.get(e.name);
    if (!on) continue; // the 'extensions' check names it
    if (!on.some((v) => compareVersions(v, e.version) >= 0))
      older.push(
        `${e.name} ${e.version} on the source, at most ${[...on].sort(compareVersions).at(-1)} on the target`,
      );
  }
  const [s, t] = await Promise.all([settingsOf(source), settingsOf(target)]);
  const differ: string[] = [];
  const copied: string[] = [];
  for (const name of APPLICATION_SETTINGS) {
    const a = s.get(name);
    const b = t.get(name);
    if (!a || !b || a.setting === b.setting) continue;
    const line = `${name}: source ${a.setting} (${a.source}), target ${b.setting} (${b.source})`;
    if (['database', 'user', 'database user'].includes(a.source)) copied.push(line);
    else differ.push(line);
  }
  return [
    {
      id: 'extension-versions',
      title: "the target offers each source extension's version or a newer one",
      severity: 'error',
      passed: older.length === 0,
      found: older.length ? older.join('; ') : `${ext.length} extension(s) with their versions`,
      fix: older.length
        ? 'use a target engine version that ships them (target.engineVersion), or move the source back to a version the target has'
        : '',
    },
    {
      id: 'application-settings',
      title: "the target's session defaults match the source's (times, dates, numbers, search_path)",
      severity: 'warning',
      passed: differ.length === 0,
      found: [
        ...(differ.length ? differ : ['the same on both servers']),
        ...(copied.length
          ? [`set on the source's database or role, copied by start: ${copied.join('; ')}`]
          : []),
      ].join('; '),
      fix: differ.length
        ? 'set them in the Aurora cluster parameter group (they are server-wide on the source), or with ALTER DATABASE ... SET on the target'
        : '',
    },
  ];
}
