import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { displayName, redact } from '@dmskit/shared';
import {
  type ComparisonResult,
  compareDatabases,
  comparisonJUnit,
  comparisonMarkdown,
  describeConnection,
  differenceLine,
  verdictLine,
} from '@dmskit/validation';
import type { CommandOutcome } from '../outcome.js';
import { parseConnectionUrl } from '../pg/url.js';
import { validationRecord, validationRecordFile } from '../runbook/scope.js';
import { formatCount } from '../ui/format.js';
import { renderTable } from '../ui/table.js';
import { loadConfigOption } from './config.js';
import { statePaths } from './context.js';

export interface ValidateOptions {
  readonly cwd: string;
  readonly source: string;
  readonly target: string;
  readonly config?: string;
  /** With a config: where the verdict is recorded for the cutover's validation gate. @default .dmskit */
  readonly stateDir?: string;
  readonly concurrency: number;
  readonly schema: boolean;
  readonly hash: 'auto' | 'md5' | 'typed';
  /** Re-check differing ranges after this many ms (the replication lag), `rechecks` times. */
  readonly recheckDelay?: number;
  readonly rechecks: number;
  readonly markdown?: string;
  readonly junit?: string;
  readonly json?: boolean;
}

/** Exit codes of validation: 0 equal, 1 different, 2 could not compare everything. */
export function validationExitCode(result: ComparisonResult): number {
  return result.verdict === 'equal' ? 0 : result.verdict === 'different' ? 1 : 2;
}

/**
 * `dmskit validate`: schema and data of two databases (scoped by the config's selection rules and row
 * filters when given). Progress per table on stderr; a table and the differing rows on stdout, or the
 * typed result with `--json`; Markdown and JUnit XML reports on request.
 */
export async function validate(
  options: ValidateOptions,
): Promise<CommandOutcome & { result: ComparisonResult }> {
  parseConnectionUrl(options.source, '--source-url');
  parseConnectionUrl(options.target, '--target-url');
  const config = options.config ? (await loadConfigOption(options.config, options.cwd)).config : undefined;
  const task = config?.task;
  const selection = task?.tableMappings;
  // A config with transformation rules is a DMS migration (the native engine refuses them): each table
  // is compared with the one DMS wrote.
  const transformations = task?.transformations.length ? task.transformations : undefined;
  const quiet = options.json;
  const result = await compareDatabases({
    source: options.source,
    target: options.target,
    concurrency: options.concurrency,
    schema: options.schema,
    hashMode: options.hash,
    ...(selection ? { selection } : {}),
    ...(transformations ? { transformations } : {}),
    ...(options.recheckDelay !== undefined
      ? { recheck: { delayMs: options.recheckDelay, attempts: options.rechecks } }
      : {}),
    onTable: (t, done, total) => {
      if (!quiet)
        process.stderr.write(
          `  [${done}/${total}] ${displayName(t.table)}: ${t.status}${t.source ? ` (${formatCount(t.source.rows)} rows)` : ''}\n`,
        );
    },
  });
  // The cutover's validation gate reads the verdict (runbook/scope.ts).
  if (config)
    await validationRecordFile(
      statePaths({ cwd: options.cwd, ...(options.stateDir ? { stateDir: options.stateDir } : {}) }, config)
        .validation,
    ).save(
      validationRecord(result, 'validate', {
        source: describeConnection(options.source),
        target: describeConnection(options.target),
      }),
    );
  if (options.markdown)
    await writeFile(path.resolve(options.cwd, options.markdown), `${redact(comparisonMarkdown(result))}\n`);
  if (options.junit)
    await writeFile(path.resolve(options.cwd, options.junit), redact(comparisonJUnit(result)));
  if (options.json) {
    process.stdout.write(`${redact(JSON.stringify(result, null, 2))}\n`);
  } else {
    const table = renderTable(
      ['table', 'status', 'source rows', 'target rows', 'reason'],
      result.tables.map((t) => [
        displayName(t.table),
        t.status,
        t.source ? formatCount(t.source.rows) : '',
        t.target ? formatCount(t.target.rows) : '',
        t.reasons.join('; '),
      ]),
      { alignRight: [2, 3] },
    );
    const lines = [...table];
    for (const d of result.schema ?? [])
      lines.push(
        `schema ${d.kind} ${d.object}: ${d.difference}${d.source || d.target ? ` (source: ${d.source ?? '-'}; target: ${d.target ?? '-'})` : ''}`,
      );
    for (const t of result.tables) for (const d of t.differences ?? []) lines.push(differenceLine(t, d));
    lines.push(verdictLine(result));
    process.stdout.write(`${redact(lines.join('\n'))}\n`);
  }
  return { exitCode: validationExitCode(result), result };
}
