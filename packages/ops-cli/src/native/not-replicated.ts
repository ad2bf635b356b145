import type { MigrationConfig } from '@dmskit/shared';

/**
 * The config's DMS transformation rules, one line each: the native engine replicates every table under
 * its source name with all its columns, so none of them takes effect there (DMS: "Transformation rules
 * and actions"). `start --engine native` refuses a config that has any; the rehearsal runs without them
 * and says so.
 */
export function transformationsNotReplicated(config: Pick<MigrationConfig, 'task'>): string[] {
  return config.task.transformations.map((r, i) => {
    const object = [r.schema, r.table, r.column].filter(Boolean).join('.');
    return `task.transformations[${i}] (${r.action} ${r.target} ${object}${r.value ? ` '${r.value}'` : ''})`;
  });
}
