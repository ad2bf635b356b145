import { describe, expect, it } from 'vitest';
import { testConfig } from '../config.testkit.js';
import { cutoverDryRun } from './cutover.js';

const config = (task: Record<string, unknown>) => testConfig({ name: 'big', database: 'big', task });

describe('cutover --dry-run of a DMS migration split into tasks', () => {
  it('names every task, every slot and every watermark table, one token in one transaction', () => {
    const text = cutoverDryRun(config({ shards: 3, sourceCatalogFile: 'catalog.json' }), 'dms', 'state.json');
    expect(text).toContain(
      'DMS: DescribeReplicationTasks big-prod-task-1, big-prod-task-2, big-prod-task-3: running',
    );
    expect(text).toContain('source: each of the 3 slots DMS created for the tasks: a walsender reads it');
    expect(text).toContain(
      'both: the watermark tables "dmskit"."dmskit_big_prod_watermark_1", "dmskit"."dmskit_big_prod_watermark_2", "dmskit"."dmskit_big_prod_watermark_3" (one per task) exist and replicate',
    );
    expect(text).toContain('(one token, one transaction)');
    expect(text).toContain('target: poll until every table shows the row');
    expect(text).toContain(
      'DMS: StopReplicationTask big-prod-task-1, big-prod-task-2, big-prod-task-3; wait until stopped',
    );
  });

  it('one task: its own slot and watermark table, as before', () => {
    const text = cutoverDryRun(config({}), 'dms', 'state.json');
    expect(text).toContain('DMS: DescribeReplicationTasks big-prod-task: running');
    expect(text).toContain('source: the slot DMS created for the task: a walsender reads it');
    expect(text).toContain(
      'both: the watermark table "dmskit"."dmskit_big_prod_watermark" exists and replicates',
    );
  });
});
