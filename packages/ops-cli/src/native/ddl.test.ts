import { describe, expect, it } from 'vitest';
import { tablesNamedBy } from './ddl.js';

describe('tablesNamedBy: the tables a schema change holds still', () => {
  it('reads ALTER TABLE, DROP TABLE and CREATE INDEX ... ON, qualified or not, quoted or not', () => {
    expect(tablesNamedBy('ALTER TABLE ledger ADD COLUMN note text')).toEqual([
      { schema: 'public', table: 'ledger' },
    ]);
    expect(tablesNamedBy('alter table if exists only Sales.Orders drop column x')).toEqual([
      { schema: 'sales', table: 'orders' },
    ]);
    expect(tablesNamedBy('ALTER TABLE "My Schema"."Odd ""Name""" ADD COLUMN y int')).toEqual([
      { schema: 'My Schema', table: 'Odd "Name"' },
    ]);
    expect(tablesNamedBy('CREATE UNIQUE INDEX CONCURRENTLY ix ON ONLY app.events (id)')).toEqual([
      { schema: 'app', table: 'events' },
    ]);
    expect(tablesNamedBy('DROP TABLE a; ALTER TABLE b ADD c int; ALTER TABLE a ADD d int')).toEqual([
      { schema: 'public', table: 'b' },
      { schema: 'public', table: 'a' },
    ]);
  });

  it('names nothing for a new table (no lock needed)', () => {
    expect(tablesNamedBy('CREATE TABLE fresh (id int PRIMARY KEY)')).toEqual([]);
  });
});
