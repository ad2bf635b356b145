import { describe, expect, it } from 'vitest';
import { TaskSchema } from '../config.js';
import { nameMapping } from './transform-names.js';

const rules = (transformations: unknown[]) => TaskSchema.parse({ transformations }).transformations;

describe('the names DMS gives the source’s objects under transformation rules ("Transformation rules and actions")', () => {
  it('renames, prefixes, suffixes and case, on schemas, tables and columns matched with DMS wildcards', () => {
    const m = nameMapping(
      rules([
        { target: 'schema', action: 'convert-uppercase', schema: 'sales' },
        { target: 'table', action: 'add-prefix', schema: 'sales', table: 'order%', value: 'eu_' },
        {
          target: 'table',
          action: 'replace-suffix',
          schema: 'sales',
          table: 'customers_tmp',
          value: '_v2',
          oldValue: '_tmp',
        },
        {
          target: 'column',
          action: 'remove-prefix',
          schema: 'sales',
          table: '%',
          column: 'c[_]%',
          value: 'c_',
        },
      ]),
    );
    expect(m.table({ schema: 'sales', table: 'orders' })).toEqual({ schema: 'SALES', table: 'eu_orders' });
    expect(m.table({ schema: 'sales', table: 'customers_tmp' })).toEqual({
      schema: 'SALES',
      table: 'customers_v2',
    });
    expect(m.table({ schema: 'hr', table: 'orders' })).toEqual({ schema: 'hr', table: 'orders' });
    expect(m.column({ schema: 'sales', table: 'orders' }, 'c_name')).toBe('name');
    expect(m.changesNames).toBe(true);
  });

  it('include-column keeps only the included columns; remove-column drops one; no rule, no change', () => {
    const m = nameMapping(
      rules([
        { target: 'column', action: 'include-column', schema: 'hr', table: 'staff', column: 'id' },
        { target: 'column', action: 'include-column', schema: 'hr', table: 'staff', column: 'name' },
        { target: 'column', action: 'remove-column', schema: 'hr', table: 'pay', column: 'iban' },
      ]),
    );
    expect(['id', 'name', 'salary'].map((c) => m.column({ schema: 'hr', table: 'staff' }, c))).toEqual([
      'id',
      'name',
      undefined,
    ]);
    expect(['id', 'iban'].map((c) => m.column({ schema: 'hr', table: 'pay' }, c))).toEqual(['id', undefined]);
    expect(nameMapping([]).changesNames).toBe(false);
  });
});
