import { type TransformationRule, UsageError } from '@dmskit/shared';
import type { TableInfo } from '@dmskit/validation';
import { describe, expect, it } from 'vitest';
import { postgresTypeOf, transformationDdl } from './transform-ddl.js';

const table = (
  schema: string,
  name: string,
  columns: string[],
  extra: Partial<TableInfo> = {},
): TableInfo => ({
  schema,
  table: name,
  kind: 'r',
  primaryKey: ['id'],
  uniqueKey: [],
  columns: columns.map((c) => ({ name: c, type: 'text', notNull: false })),
  estimatedRows: 0,
  bytes: 0,
  replicaIdentity: 'd',
  hasReplicaIdentity: true,
  ...extra,
});
const rule = (r: Partial<TransformationRule> & Pick<TransformationRule, 'target' | 'action'>) =>
  ({ schema: '%', ...r }) as TransformationRule;

describe('the target DDL of DMS transformation rules (DMS: "Transformation rules and actions")', () => {
  const orders = table('sales', 'orders', ['id', 'email', 'notes', 'total']);
  const customers = table('sales', 'customers', ['id', 'name']);

  it('no rules: no statements', () => {
    expect(transformationDdl([orders, customers], [])).toEqual({ statements: [], changes: [] });
  });

  it('columns first (removed, retyped, added, renamed), then tables renamed, then moved to their schema', () => {
    const { statements } = transformationDdl(
      [orders, customers],
      [
        rule({ target: 'schema', action: 'rename', schema: 'sales', value: 'shop' }),
        rule({ target: 'table', action: 'add-prefix', schema: 'sales', table: 'cust%', value: 'crm_' }),
        rule({
          target: 'column',
          action: 'rename',
          schema: 'sales',
          table: 'orders',
          column: 'email',
          value: 'mail',
        }),
        rule({
          target: 'column',
          action: 'remove-column',
          schema: 'sales',
          table: 'orders',
          column: 'notes',
        }),
        rule({
          target: 'column',
          action: 'change-data-type',
          schema: 'sales',
          table: 'orders',
          column: 'total',
          dataType: { type: 'numeric', precision: 12, scale: 2 },
        }),
        rule({
          target: 'column',
          action: 'add-column',
          schema: 'sales',
          table: 'orders',
          value: 'region',
          expression: "'eu'",
          dataType: { type: 'string', length: 20 },
        }),
      ],
    );
    expect(statements).toEqual([
      'ALTER TABLE "sales"."orders" DROP COLUMN "notes"',
      'ALTER TABLE "sales"."orders" ALTER COLUMN "total" TYPE numeric(12,2) USING "total"::numeric(12,2)',
      'ALTER TABLE "sales"."orders" ADD COLUMN "region" varchar(20)',
      'ALTER TABLE "sales"."orders" RENAME COLUMN "email" TO "mail"',
      'ALTER TABLE "sales"."customers" RENAME TO "crm_customers"',
      'CREATE SCHEMA IF NOT EXISTS "shop"',
      'ALTER TABLE "sales"."orders" SET SCHEMA "shop"',
      'ALTER TABLE "sales"."crm_customers" SET SCHEMA "shop"',
    ]);
  });

  it('include-column keeps only the included columns; lower case applies to every matching column', () => {
    const t = table('public', 'People', ['ID', 'Name', 'Secret']);
    const { statements } = transformationDdl(
      [t],
      [
        rule({ target: 'column', action: 'include-column', table: 'People', column: 'ID' }),
        rule({ target: 'column', action: 'include-column', table: 'People', column: 'Name' }),
        rule({ target: 'column', action: 'convert-lowercase', table: '%', column: '%' }),
        rule({ target: 'table', action: 'convert-lowercase', table: '%' }),
      ],
    );
    expect(statements).toEqual([
      'ALTER TABLE "public"."People" DROP COLUMN "Secret"',
      'ALTER TABLE "public"."People" RENAME COLUMN "ID" TO "id"',
      'ALTER TABLE "public"."People" RENAME COLUMN "Name" TO "name"',
      'ALTER TABLE "public"."People" RENAME TO "people"',
    ]);
  });

  it("a partition's columns change on its parent, once; its own name and schema on itself", () => {
    const p1 = table('public', 'events_2025', ['id', 'payload'], {
      partitionOf: { schema: 'public', table: 'events' },
    });
    const p2 = table('public', 'events_2026', ['id', 'payload'], {
      partitionOf: { schema: 'public', table: 'events' },
    });
    const { statements } = transformationDdl(
      [p1, p2],
      [
        rule({ target: 'column', action: 'remove-column', table: 'events_%', column: 'payload' }),
        rule({ target: 'table', action: 'add-suffix', table: 'events_%', value: '_v2' }),
      ],
    );
    expect(statements).toEqual([
      'ALTER TABLE "public"."events" DROP COLUMN "payload"',
      'ALTER TABLE "public"."events_2025" RENAME TO "events_2025_v2"',
      'ALTER TABLE "public"."events_2026" RENAME TO "events_2026_v2"',
    ]);
  });

  it('define-primary-key on a table without one; refused on a table that has one', () => {
    const log = table('public', 'log', ['at', 'host', 'line'], { primaryKey: [] });
    const pk = rule({
      target: 'table',
      action: 'define-primary-key',
      table: 'log',
      primaryKey: { name: 'log_pk', columns: ['at', 'host'] },
    });
    expect(transformationDdl([log], [pk]).statements).toEqual([
      'ALTER TABLE "public"."log" ADD CONSTRAINT "log_pk" PRIMARY KEY ("at", "host")',
    ]);
    expect(() => transformationDdl([{ ...log, primaryKey: ['at'] }], [pk])).toThrow(
      /define-primary-key on public\.log, which has a primary key \(at\)/,
    );
  });

  it('sequences no table owns move with their schema; two tables written to one name are refused', () => {
    const schemaRule = rule({ target: 'schema', action: 'rename', schema: 'sales', value: 'shop' });
    expect(
      transformationDdl([orders], [schemaRule], [{ schema: 'sales', table: 'invoice_no' }]).statements,
    ).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "shop"',
      'ALTER TABLE "sales"."orders" SET SCHEMA "shop"',
      'ALTER SEQUENCE "sales"."invoice_no" SET SCHEMA "shop"',
    ]);
    const a = table('a', 'orders', ['id']);
    const b = table('b', 'orders', ['id']);
    const merge = rule({ target: 'schema', action: 'rename', schema: '%', value: 'public' });
    expect(() => transformationDdl([a, b], [merge])).toThrow(UsageError);
    expect(() => transformationDdl([a, b], [merge])).toThrow(
      /a\.orders and b\.orders would both be written to public\.orders/,
    );
  });

  it('a retyped column the table lacks is named', () => {
    expect(() =>
      transformationDdl(
        [orders],
        [
          rule({
            target: 'column',
            action: 'change-data-type',
            table: 'orders',
            column: 'amount',
            dataType: { type: 'int8' },
          }),
        ],
      ),
    ).toThrow(/change-data-type names column amount that sales\.orders does not have/);
  });
});

describe('DMS data types on a PostgreSQL target (DMS: "Using a PostgreSQL database as a target", Target data types for PostgreSQL)', () => {
  it.each([
    [{ type: 'string', length: 50 }, 'varchar(50)'],
    [{ type: 'wstring', length: 21_846 }, 'varchar(65535)'],
    [{ type: 'int1' }, 'smallint'],
    [{ type: 'uint2' }, 'integer'],
    [{ type: 'uint4' }, 'bigint'],
    [{ type: 'uint8' }, 'numeric(20)'],
    [{ type: 'numeric', precision: 10, scale: 3 }, 'numeric(10,3)'],
    [{ type: 'real4' }, 'real'],
    [{ type: 'real8' }, 'double precision'],
    [{ type: 'datetime', scale: 3 }, 'timestamp(3)'],
    [{ type: 'blob' }, 'bytea'],
    [{ type: 'nclob' }, 'text'],
    [{ type: 'boolean' }, 'boolean'],
  ] as const)('%j is %s', (t, pg) => {
    expect(postgresTypeOf(t)).toBe(pg);
  });
});
