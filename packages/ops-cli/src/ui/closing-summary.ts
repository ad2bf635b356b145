import type { FullLoadResult } from '../fullload/run.js';
import type { NativeStartState } from '../native/start-state.js';
import { formatBytes, formatCount, formatDuration } from './format.js';

/** One line of the closing summary: a step, its wall time (ms) and what it did. */
export interface StepTiming {
  readonly step: string;
  readonly ms: number;
  readonly detail: string;
}

/**
 * The steps of a native start with their wall times, as the start state recorded them (`stepMs`,
 * `catchUpMs`, the full load's own figures): roles, schema, copy, the index builds after the last row,
 * post-data, privileges, and the CDC catch-up. A step a continued start did not run again has no time.
 */
export function startStepTimings(
  state: Pick<NativeStartState, 'stepMs' | 'catchUpMs' | 'fullLoad'>,
  counts: { preDataEntries?: number; postDataEntries?: number; jobs?: number } = {},
): StepTiming[] {
  const ms = state.stepMs ?? {};
  const f = state.fullLoad;
  const out: StepTiming[] = [];
  const add = (step: string, value: number | undefined, detail: string) => {
    if (value !== undefined) out.push({ step, ms: value, detail });
  };
  add('roles', ms.roles, 'the roles in scope on the target');
  add(
    'schema (pre-data)',
    ms['pre-data'],
    counts.preDataEntries ? `${formatCount(counts.preDataEntries)} entries` : 'tables, types, functions',
  );
  if (f) {
    const bytes = f.tables.reduce((n, t) => n + t.bytes, 0);
    add(
      'copy',
      f.ms,
      `${formatCount(f.rows)} rows, ${formatBytes(bytes)}${counts.jobs ? `, ${counts.jobs} workers` : ''}, from the slot's snapshot`,
    );
    // The full-load step builds each table's keys and indexes as its rows are in; what is left after
    // the last row is the tail the copy could not hide.
    if (ms['full-load'] !== undefined)
      add(
        'indexes after the last row',
        Math.max(0, ms['full-load'] - f.ms),
        'keys and indexes not yet built when the copy ended',
      );
  }
  add(
    'post-data',
    ms['post-data'],
    counts.postDataEntries
      ? `${formatCount(counts.postDataEntries)} entries: foreign keys, triggers, the rest`
      : 'foreign keys, triggers, the rest',
  );
  // Shown when it took a moment: a schema without materialized views refreshes none.
  if ((ms['materialized-views'] ?? 0) >= 1)
    add(
      'materialized views',
      ms['materialized-views'],
      'refreshed from the loaded rows, as populated as on the source',
    );
  add('privileges', ms.privileges, 'owners, grants, default privileges');
  add(
    'CDC catch-up',
    state.catchUpMs,
    'from the subscription until every table applied the changes made during the load',
  );
  return out;
}

/** The step table in Markdown (rendered by forStdout on a terminal). */
export function stepsMarkdown(steps: readonly StepTiming[]): string[] {
  return [
    '| step | wall time | what |',
    '| --- | ---: | --- |',
    ...steps.map((s) => `| ${s.step} | ${formatDuration(s.ms)} | ${s.detail} |`),
  ];
}

/** The per-table figures of the copy in Markdown: rows, COPY bytes, time, rate; the largest first. */
export function tablesMarkdown(
  f: Pick<FullLoadResult, 'ms' | 'rows'> & { readonly tables: readonly FullLoadResult['tables'][number][] },
): string[] {
  return [
    '| table | rows | bytes (COPY) | time | rows/s |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...[...f.tables]
      .sort((a, b) => b.bytes - a.bytes)
      .map(
        (t) =>
          `| ${t.schema}.${t.table} | ${formatCount(t.rows)} | ${formatBytes(t.bytes)} | ${formatDuration(t.ms)} | ${t.ms > 0 ? formatCount(Math.round((t.rows * 1000) / t.ms)) : '-'} |`,
      ),
  ];
}
