import { describe, expect, it } from 'vitest';
import { isPreexisting, isPrimaryKeyEntry, parseToc, postDataKey } from './toc.js';

// Lines as pg_restore 15 prints them for a dump with an extension, a partitioned table and a serial key.
const LISTING = `;
; Archive created at 2026-11-21 07:06:08 UTC
;
3371; 0 0 COMMENT - SCHEMA public pg_database_owner
2; 3079 16384 EXTENSION - citext 
3372; 0 0 COMMENT - EXTENSION citext 
6; 2615 16400 SCHEMA - sales postgres
217; 1259 16498 TABLE public p postgres
218; 1259 16503 TABLE public p1 postgres
216; 1259 16490 TABLE public t postgres
3213; 0 0 TABLE ATTACH public p1 postgres
3218; 2606 16502 CONSTRAINT public p p_pkey postgres
3220; 2606 16507 CONSTRAINT public p1 p1_pkey postgres
3216; 2606 16497 CONSTRAINT public t t_pkey postgres
3217; 2606 16498 CONSTRAINT public t t_email_key postgres
3221; 0 0 INDEX ATTACH public p1_pkey postgres
`;

describe('dump TOC filtering', () => {
  const entries = parseToc(LISTING);

  it('keeps entry lines only', () => {
    expect(entries).toHaveLength(13);
    expect(entries[0]?.body).toBe('COMMENT - SCHEMA public pg_database_owner');
  });

  it('finds primary keys and the attach of a partition key to its parent', () => {
    const keys = [
      { schema: 'public', table: 'p', constraint: 'p_pkey' },
      { schema: 'public', table: 'p1', constraint: 'p1_pkey' },
      { schema: 'public', table: 't', constraint: 't_pkey' },
    ];
    const picked = entries.filter((e) => isPrimaryKeyEntry(e, keys)).map((e) => e.body);
    expect(picked).toEqual([
      'CONSTRAINT public p p_pkey postgres',
      'CONSTRAINT public p1 p1_pkey postgres',
      'CONSTRAINT public t t_pkey postgres',
      'INDEX ATTACH public p1_pkey postgres',
    ]);
  });

  it('skips schemas and extensions the target already has, and their comments', () => {
    const existing = { schemas: new Set(['public']), extensions: new Set(['plpgsql', 'citext']) };
    const skipped = entries.filter((e) => isPreexisting(e, existing)).map((e) => e.body);
    expect(skipped).toEqual([
      'COMMENT - SCHEMA public pg_database_owner',
      'EXTENSION - citext ',
      'COMMENT - EXTENSION citext ',
    ]);
  });

  it('keys post-data entries, names with spaces by the keys the catalog knows', () => {
    const toc = (body: string) => ({ line: `1; 0 0 ${body}`, body });
    const known = new Set([
      'CONSTRAINT public keyed Keyed Code',
      'CONSTRAINT public keyed keyed_pkey',
      'INDEX my schema my index',
      'FK CONSTRAINT public orders orders_customer_fkey',
    ]);
    expect(postDataKey(toc('CONSTRAINT public keyed Keyed Code postgres'), known)).toBe(
      'CONSTRAINT public keyed Keyed Code',
    );
    expect(postDataKey(toc('CONSTRAINT public keyed keyed_pkey app owner'), known)).toBe(
      'CONSTRAINT public keyed keyed_pkey',
    );
    expect(postDataKey(toc('INDEX my schema my index postgres'), known)).toBe('INDEX my schema my index');
    expect(postDataKey(toc('FK CONSTRAINT public orders orders_customer_fkey postgres'), known)).toBe(
      'FK CONSTRAINT public orders orders_customer_fkey',
    );
    // Not in the catalog's keys: one word per name.
    expect(postDataKey(toc('TRIGGER public orders audit postgres'), known)).toBe(
      'TRIGGER public orders audit',
    );
    expect(postDataKey(toc('CONSTRAINT public keyed Keyed Code postgres'))).toBe(
      'CONSTRAINT public keyed Keyed',
    );
    expect(postDataKey(toc('TABLE public orders postgres'), known)).toBeUndefined();
  });
});
