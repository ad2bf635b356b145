import type { TableInfo } from '@dmskit/validation';
import { describe, expect, it } from 'vitest';
import { isInsertOnly, replicaIdentityProblems, scopeProblems } from './scope.js';

const all = [{ action: 'include' as const, schema: 'public', table: '%' }];

function table(name: string, hasReplicaIdentity = true): TableInfo {
  return {
    schema: 'public',
    table: name,
    kind: 'r',
    primaryKey: hasReplicaIdentity ? ['id'] : [],
    uniqueKey: [],
    columns: [],
    estimatedRows: 0,
    bytes: 0,
    replicaIdentity: 'd',
    hasReplicaIdentity,
  };
}

describe('scope checks before the fence', () => {
  it('names a table in scope that is not published, and a published one that left the scope', () => {
    const problems = scopeProblems(
      [table('a'), table('fresh')],
      [
        { schema: 'public', table: 'a' },
        { schema: 'public', table: 'renamed_away' },
        { schema: 'dmskit', table: 'x_watermark' },
      ],
      [...all, { action: 'exclude', schema: 'public', table: 'renamed%' }],
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^public\.fresh matches the selection rules but is not replicated/);
    expect(problems[1]).toMatch(/^public\.renamed_away is replicated but no longer in scope/);
  });

  it('says nothing when the engine cannot list what it replicates (DMS)', () => {
    expect(scopeProblems([table('a')], undefined, all)).toEqual([]);
  });

  it('refuses tables without replica identity unless declared insert-only, with DMS wildcards', () => {
    const tables = [table('orders'), table('audit_log', false), table('events_2026', false)];
    expect(replicaIdentityProblems(tables, [])[0]).toMatch(
      /^public\.audit_log, public\.events_2026 have no primary key/,
    );
    expect(replicaIdentityProblems(tables, [{ schema: 'public', table: 'audit%' }])[0]).toMatch(
      /^public\.events_2026 has no primary key/,
    );
    expect(
      replicaIdentityProblems(tables, [
        { schema: 'pub%', table: 'audit_log' },
        { schema: 'public', table: 'events[_]____' },
      ]),
    ).toEqual([]);
    expect(isInsertOnly({ schema: 'other', table: 'audit_log' }, [{ schema: 'public', table: '%' }])).toBe(
      false,
    );
  });
});
