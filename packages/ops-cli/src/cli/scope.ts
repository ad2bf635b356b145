import type { Command } from 'commander';
import {
  configOption,
  connectionOptions,
  engineNativeOnly,
  examples,
  type SetOutcome,
  stateDirOption,
} from './options.js';

/** `dmskit scope` and `dmskit ddl`: the tables and schema in scope during CDC (native engine). */
export function registerScope(program: Command, done: SetOutcome): void {
  const scope = program
    .command('scope')
    .description(
      'Native engine: the tables in scope on the source now against those replicated, both schemas, the DDL captured during CDC; --join adds tables created during CDC with their rows',
    );
  configOption(scope);
  connectionOptions(scope, {
    source: 'source database URL (default: from the config and its password variable)',
    target: 'target database URL',
  });
  scope
    .addOption(engineNativeOnly())
    .option('--join', 'add the tables in scope that are not replicated, copying their rows');
  stateDirOption(scope, 'folder of the state files');
  scope.option('--json', 'print the report as JSON').action(async (opts) => {
    const { scope } = await import('../commands/scope.js');
    done(await scope({ ...opts, cwd: process.cwd() }));
  });
  examples(scope, [
    [
      'dmskit scope --config migrations/shop.ts --target-url postgres://migrator@aurora:5432/shop',
      'what is in scope and replicated, and the DDL seen',
    ],
    [
      'dmskit scope --config migrations/shop.ts --target-url ... --join',
      'add the tables created during CDC, with their rows',
    ],
  ]);

  const ddl = program
    .command('ddl')
    .description(
      'Native engine: apply a schema change during CDC to the target and the source, in the order that keeps replication running (writes on the tables it names wait about the lag)',
    )
    .argument('<sql>', 'the statement, e.g. "ALTER TABLE public.ledger ADD COLUMN note text"');
  configOption(ddl);
  connectionOptions(ddl, {
    source: 'source database URL (default: from the config and its password variable)',
    target: 'target database URL',
  });
  ddl
    .addOption(engineNativeOnly())
    .option('--tables <list>', 'schema.table,... to hold still (default: the tables the statement names)');
  stateDirOption(ddl, 'folder of the state files');
  ddl.action(async (sql, opts) => {
    const { ddl } = await import('../commands/scope.js');
    done(await ddl({ ...opts, sql, cwd: process.cwd() }));
  });
  examples(ddl, [
    [
      'dmskit ddl "ALTER TABLE public.ledger ADD COLUMN note text" --config migrations/shop.ts --target-url ...',
      'a column added on both sides',
    ],
    [
      'dmskit ddl "CREATE INDEX ON public.orders (placed_at)" --config migrations/shop.ts --target-url ... --tables public.orders',
      'the tables to hold named',
    ],
  ]);
}
