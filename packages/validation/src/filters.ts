import type { SelectionRule, SourceFilter, TableName } from '@dmskit/shared';
import { locatorPattern } from '@dmskit/shared';
import pg from 'pg';

function conditionSql(column: string, c: SourceFilter['conditions'][number]): string {
  const col = pg.escapeIdentifier(column);
  switch (c.operator) {
    case 'eq':
      return `${col} = ${pg.escapeLiteral(c.value)}`;
    case 'noteq':
      return `${col} <> ${pg.escapeLiteral(c.value)}`;
    case 'ste':
    case 'lte':
      return `${col} <= ${pg.escapeLiteral(c.value)}`;
    case 'gte':
      return `${col} >= ${pg.escapeLiteral(c.value)}`;
    case 'between':
      return `${col} BETWEEN ${pg.escapeLiteral(c.start)} AND ${pg.escapeLiteral(c.end)}`;
    case 'notbetween':
      return `${col} NOT BETWEEN ${pg.escapeLiteral(c.start)} AND ${pg.escapeLiteral(c.end)}`;
    case 'null':
      return `${col} IS NULL`;
    case 'notnull':
      return `${col} IS NOT NULL`;
  }
}

/**
 * The row filter of a table as SQL, from the source filters of the include rules that select it, the
 * way the DMS task applies them (DMS: "Using source filters": the conditions of one filter are OR'ed,
 * several filters AND'ed). `true` when the table has none. Values are quoted literals.
 */
export function rowFilterSql(table: TableName, rules: readonly SelectionRule[]): string {
  const filters = rules
    .filter(
      (r) =>
        r.action !== 'exclude' &&
        r.filters?.length &&
        (r.action === 'explicit'
          ? r.schema === table.schema && r.table === table.table
          : locatorPattern(r.schema).test(table.schema) && locatorPattern(r.table).test(table.table)),
    )
    .flatMap((r) => r.filters ?? []);
  if (filters.length === 0) return 'true';
  return filters
    .map((f) => `(${f.conditions.map((c) => conditionSql(f.column, c)).join(' OR ')})`)
    .join(' AND ');
}
