import { type MigrationConfig, redact, TaskSchema } from '@dmskit/shared';
import { closeQuietly, describeConnection, listTables, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import type { ApplicationCheck } from '../runbook/app-checks.js';
import {
  type CheckResult,
  connectionChecks,
  fallbackChecks,
  readServerFacts,
  type ServerFacts,
  sourceServerChecks,
  tableChecks,
  targetChecks,
} from './checks.js';
import { roleChecks } from './roles.js';
import { settingsChecks } from './settings.js';

export interface PreflightReport {
  readonly source: string;
  readonly target: string | null;
  readonly checks: readonly CheckResult[];
  /** Failed checks by severity. */
  readonly failed: { readonly error: number; readonly warning: number; readonly info: number };
  /** Whether the migration can start: no failed check of severity error. */
  readonly ready: boolean;
}

/**
 * Runs every preflight check of a PostgreSQL to Aurora PostgreSQL migration against the source (and the
 * target when given), read-only. The task settings (migration type, selection rules, LOB mode) come
 * from the config, or the defaults.
 */
export async function runPreflight(options: {
  source: string;
  target?: string;
  task?: MigrationConfig['task'];
  /** Check what the fall-back path needs (`cutover.fallback`). @default true */
  fallback?: boolean;
  /** The config's `cutover.applicationChecks`, run read-only on the target. @default [] */
  applicationChecks?: readonly ApplicationCheck[];
}): Promise<PreflightReport> {
  const task = options.task ?? TaskSchema.parse({});
  const cdc = task.migrationType !== 'full-load';
  const open = async (url: string, side: 'source' | 'target') => {
    try {
      const c = await openConnection(url, side, { applicationName: 'dmskit-preflight' });
      return { client: c, facts: await readServerFacts(c, describeConnection(url)), error: undefined };
    } catch (error) {
      return { client: undefined, facts: undefined, error: redact((error as Error).message) };
    }
  };
  const [s, t] = await Promise.all([
    open(options.source, 'source'),
    options.target ? open(options.target, 'target') : Promise.resolve(undefined),
  ]);
  const clients = [s.client, t?.client].filter((c): c is pg.Client => Boolean(c));
  try {
    const checks: CheckResult[] = [...connectionChecks('source', s.facts, s.error)];
    if (t) checks.push(...connectionChecks('target', t.facts, t.error));
    if (s.client && s.facts) {
      const facts = {
        source: s.facts as ServerFacts,
        target: t?.facts,
        sourceTables: await listTables(s.client),
        config: { task },
      };
      checks.push(...sourceServerChecks(s.facts, cdc, task.shards));
      checks.push(...(await tableChecks(s.client, facts)));
      checks.push(...(await targetChecks(t?.client, facts)));
      checks.push(...fallbackChecks(s.facts, t?.facts, options.fallback ?? true));
      checks.push(
        ...(await roleChecks(s.client, t?.client, options.target, facts, options.applicationChecks ?? [])),
      );
      if (t?.client) checks.push(...(await settingsChecks(s.client, t.client)));
    }
    const failed = { error: 0, warning: 0, info: 0 };
    for (const c of checks) if (!c.passed) failed[c.severity]++;
    return {
      source: describeConnection(options.source),
      target: options.target ? describeConnection(options.target) : null,
      checks,
      failed,
      ready: failed.error === 0,
    };
  } finally {
    await Promise.all(clients.map(closeQuietly));
  }
}

const MARK = { error: ':x:', warning: ':warning:', info: ':information_source:' } as const;

/** The preflight report in Markdown: failed checks first (errors, warnings, info), then what passed. */
export function preflightMarkdown(r: PreflightReport): string {
  const order = { error: 0, warning: 1, info: 2 } as const;
  const failed = r.checks.filter((c) => !c.passed).sort((a, b) => order[a.severity] - order[b.severity]);
  const lines = [
    `# Preflight: ${r.source}${r.target ? ` -> ${r.target}` : ''}`,
    '',
    `**${r.ready ? 'Ready' : 'Not ready'}**: ${r.failed.error} error(s), ${r.failed.warning} warning(s), ${r.failed.info} note(s); ${r.checks.filter((c) => c.passed).length} check(s) passed.`,
    '',
  ];
  if (failed.length) {
    lines.push('| | id | found | fix |', '| --- | --- | --- | --- |');
    for (const c of failed)
      lines.push(
        `| ${MARK[c.severity]} | ${c.id} | ${c.found.replace(/\|/g, '\\|')} | ${c.fix.replace(/\|/g, '\\|')} |`,
      );
    lines.push('');
  }
  lines.push('Passed:', '', ...r.checks.filter((c) => c.passed).map((c) => `- ${c.id}: ${c.found}`));
  return `${lines.join('\n')}\n`;
}
