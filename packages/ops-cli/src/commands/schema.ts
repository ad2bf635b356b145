import { UsageError } from '@dmskit/shared';
import { describeConnection, openConnection } from '@dmskit/validation';
import type { CommandOutcome } from '../outcome.js';
import { addDmsForeignKeys, copyDmsSchema, type DmsSchemaCopy } from '../schema/dms-schema.js';
import type { ForeignKeysResult } from '../schema/foreign-keys.js';
import { loadConfigOption } from './config.js';
import { sourceUrlOf, targetUrlOf } from './context.js';

export interface SchemaOptions {
  readonly cwd: string;
  readonly config: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly dryRun?: boolean;
  /** After the full load: add the foreign keys the schema copy left out. */
  readonly foreignKeys?: boolean;
  readonly json?: boolean;
}

/**
 * `dmskit schema`: the target schema of a DMS migration, before its first start: the selected tables of
 * the source with their keys, indexes, constraints and triggers, under the names and columns the task's
 * transformation rules give them ({@link copyDmsSchema}). Prints what it created and each transformation;
 * `--dry-run` says what it would run and changes nothing. `--foreign-keys`, after the full load, adds the
 * foreign keys it left out ({@link addDmsForeignKeys}); exit 1 when rows break one.
 */
export async function schema(
  o: SchemaOptions,
): Promise<CommandOutcome & { result: DmsSchemaCopy | ForeignKeysResult }> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const targetUrl = targetUrlOf(o.targetUrl);
  const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-schema' });
  try {
    const target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-schema' });
    try {
      if (o.foreignKeys) {
        if (o.dryRun) throw new UsageError('--foreign-keys and --dry-run: choose one');
        const r = await addDmsForeignKeys({ config, source, target });
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else
          process.stdout.write(
            `${[
              `foreign keys on ${describeConnection(targetUrl)}: ${r.added.length} added and validated, ${r.present.length} already there, ${r.failed.length} broken by the rows, ${r.skipped.length} skipped`,
              ...r.added.map((k) => `  added ${k}`),
              ...r.failed.map((k) => `  not added (removed again): ${k}`),
              ...r.skipped.map((k) => `  skipped ${k}`),
            ].join('\n')}\n`,
          );
        // Rows that break a key are a finding about the data: exit 1, as validation does for differences.
        return { exitCode: r.failed.length ? 1 : 0, result: r };
      }
      const result = await copyDmsSchema({
        config,
        sourceUrl,
        targetUrl,
        source,
        target,
        ...(o.dryRun ? { dryRun: true } : {}),
      });
      if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        const where = describeConnection(targetUrl);
        const lines =
          result.status === 'present'
            ? [`the ${result.tables} table(s) of ${config.name} are already on ${where}: nothing done`]
            : [
                `${result.status === 'planned' ? 'would create' : 'created'} on ${where}: ${result.tables} table(s), ${result.objects} object(s) of the source's schema (${result.pgDump})`,
                ...(result.changes.length
                  ? [
                      `${result.status === 'planned' ? 'would apply' : 'applied'} the task's transformation rules in the same transaction:`,
                      ...result.changes.map((c) => `  ${c}`),
                    ]
                  : []),
                ...(o.dryRun ? ['statements:', ...result.statements.map((s) => `  ${s};`)] : []),
                ...(result.deferredForeignKeys
                  ? [
                      `${result.deferredForeignKeys} foreign key(s) left for after the full load (DMS truncates the tables it loads, which a foreign key forbids): dmskit schema --foreign-keys`,
                    ]
                  : []),
              ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      return { exitCode: 0, result };
    } finally {
      await target.end().catch(() => undefined);
    }
  } finally {
    await source.end().catch(() => undefined);
  }
}
