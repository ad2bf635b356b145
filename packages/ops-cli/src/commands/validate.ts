import { displayName, redact } from '@dmskit/shared';
import { type ComparisonResult, compareDatabases, verdictLine } from '@dmskit/validation';
import Table from 'cli-table3';
import type { CommandOutcome } from '../cli.js';
import { parseConnectionUrl } from '../pg/url.js';
import { loadConfigOption } from './config.js';

export interface ValidateOptions {
  readonly cwd: string;
  readonly source: string;
  readonly target: string;
  readonly config?: string;
  readonly concurrency: number;
  readonly json?: boolean;
}

/** Exit codes of validation: 0 equal, 1 different, 2 could not compare every table. */
export function validationExitCode(result: ComparisonResult): number {
  return result.verdict === 'equal' ? 0 : result.verdict === 'different' ? 1 : 2;
}

/**
 * `dmskit validate`: compares two databases (scoped by the config's selection rules when given) and
 * prints a table per table, or the typed result with `--json`.
 */
export async function validate(
  options: ValidateOptions,
): Promise<CommandOutcome & { result: ComparisonResult }> {
  parseConnectionUrl(options.source, '--source');
  parseConnectionUrl(options.target, '--target');
  const selection = options.config
    ? (await loadConfigOption(options.config, options.cwd)).config.task.tableMappings
    : undefined;
  const result = await compareDatabases({
    source: options.source,
    target: options.target,
    concurrency: options.concurrency,
    ...(selection ? { selection } : {}),
  });
  if (options.json) {
    process.stdout.write(`${redact(JSON.stringify(result, null, 2))}\n`);
  } else {
    const table = new Table({
      head: ['table', 'status', 'source rows', 'target rows', 'reason'],
      style: { head: [], border: [] },
      wordWrap: true,
      colWidths: [null, null, null, null, 60] as unknown as number[],
    });
    for (const t of result.tables) {
      table.push([
        displayName(t.table),
        t.status,
        t.source?.rows ?? '',
        t.target?.rows ?? '',
        t.reasons.join('; '),
      ]);
    }
    process.stdout.write(`${table.toString()}\n${verdictLine(result)}\n`);
  }
  return { exitCode: validationExitCode(result), result };
}
