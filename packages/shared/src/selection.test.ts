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
    // DMS: `_` is one character, `[_]` a literal underscore ("Wildcards in table mapping").
    expect(locatorPattern('a_b.c').test('axb.c')).toBe(true);
    expect(locatorPattern('a[_]b.c').test('axb.c')).toBe(false);
    expect(locatorPattern('a[_]b.c').test('a_b.c')).toBe(true);
    expect(locatorPattern('a_b.c').test('a_bxc')).toBe(false); // `.` stays literal
    expect(locatorPattern('a_b.c').test('ab.c')).toBe(false);
    expect(locatorPattern('t[ab]').test('ta')).toBe(true);
    expect(locatorPattern('t[ab]').test('tc')).toBe(false);
    expect(locatorPattern('t[a-d]%').test('tc_2026')).toBe(true);
    expect(locatorPattern('t[a-d]%').test('te_2026')).toBe(false);
    expect(locatorPattern('t[^a]').test('t^')).toBe(true); // `^` is literal inside a set
    expect(locatorPattern('t[^a]').test('tb')).toBe(false);
    expect(locatorPattern('t[x').test('t[x')).toBe(true); // no closing bracket: literal
    expect(locatorPattern('(x)+').test('(x)+')).toBe(true);
    expect(locatorPattern('sales_%').test('sales_2026')).toBe(true);
    expect(locatorPattern('sales[_]%').test('salesX2026')).toBe(false);
  });

  it('quotes names only when PostgreSQL needs it', () => {
    expect(displayName({ schema: 'public', table: 'orders' })).toBe('public.orders');
    expect(displayName({ schema: 'Sales', table: 'my "table"' })).toBe('"Sales"."my ""table"""');
  });
});

describe('explicit selection (DMS: "Selection rules and actions")', () => {
  it('selects exactly the named table, its _ and % taken literally; an exclude still wins', () => {
    const rules = [{ action: 'explicit' as const, schema: 'sales', table: 'order_lines' }];
    expect(isSelected({ schema: 'sales', table: 'order_lines' }, rules)).toBe(true);
    expect(isSelected({ schema: 'sales', table: 'orderXlines' }, rules)).toBe(false);
    expect(
      isSelected({ schema: 'sales', table: 'order_lines' }, [
        ...rules,
        { action: 'exclude' as const, schema: 'sales', table: 'order%' },
      ]),
    ).toBe(false);
  });
});
