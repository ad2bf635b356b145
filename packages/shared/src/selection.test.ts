import { describe, expect, it } from 'vitest';
import { displayName, isSelected, locatorPattern } from './selection.js';

describe('selection rules', () => {
  const rules = [
    { action: 'include' as const, schema: 'public', table: '%' },
    { action: 'include' as const, schema: 'sales', table: 'order%' },
    { action: 'exclude' as const, schema: 'public', table: 'tmp_%' },
  ];

  it('includes by wildcard and lets an exclude win', () => {
    expect(isSelected({ schema: 'public', table: 'orders' }, rules)).toBe(true);
    expect(isSelected({ schema: 'public', table: 'tmp_import' }, rules)).toBe(false);
    expect(isSelected({ schema: 'sales', table: 'order_items' }, rules)).toBe(true);
    expect(isSelected({ schema: 'sales', table: 'refunds' }, rules)).toBe(false);
    expect(
      isSelected({ schema: 'pg_catalog', table: 'pg_class' }, [
        { action: 'include', schema: '%', table: '%' },
      ]),
    ).toBe(false);
  });

  it('treats every character but % literally', () => {
    expect(locatorPattern('a_b.c').test('a_b.c')).toBe(true);
    expect(locatorPattern('a_b.c').test('axb.c')).toBe(false);
    expect(locatorPattern('a_b.c').test('a_bxc')).toBe(false);
  });

  it('quotes names only when PostgreSQL needs it', () => {
    expect(displayName({ schema: 'public', table: 'orders' })).toBe('public.orders');
    expect(displayName({ schema: 'Sales', table: 'my "table"' })).toBe('"Sales"."my ""table"""');
  });
});
