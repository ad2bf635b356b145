import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { chinookSql } from '../helpers/datasets.js';
import { independentDiff } from '../helpers/independent.js';
import { createDatabase, type LocalServer, query, startServer, withClient } from '../helpers/servers.js';

/**
 * The Chinook data set goes through the same migration as the rehearsal, as a user's own database
 * (--no-sample-data): schema copy, full load, CDC of changes the "application" makes during the CDC
 * phase, cutover, validation. A play log without a key shows the replica-identity warning.
 */
describe('Chinook through the native migration', () => {
  let source: LocalServer;
  let target: LocalServer;
  let sourceUrl: string;
  let targetUrl: string;
  let run: Awaited<ReturnType<typeof runDmskit>>;
  let report: {
    validation: { verdict: string; tables: { status: string }[] };
    warnings: string[];
    cdc: { changesAppliedOnTarget: number };
  };
  const applied: string[] = [];

  beforeAll(async () => {
    [source, target] = await Promise.all([startServer('source', { logical: true }), startServer('target')]);
    [sourceUrl, targetUrl] = await Promise.all([
      createDatabase(source, 'chinook'),
      createDatabase(target, 'chinook'),
    ]);
    await withClient(sourceUrl, async (c) => {
      await c.query(await chinookSql());
      await c.query(
        'CREATE TABLE play_log (track_id int NOT NULL, played_at timestamptz NOT NULL DEFAULT now())',
      );
      await c.query('INSERT INTO play_log (track_id) SELECT track_id FROM track WHERE track_id % 50 = 0');
    });
    const out = await mkdtemp(path.join(tmpdir(), 'dmskit-chinook-'));
    let changes: Promise<void> | undefined;
    run = await runDmskit(
      [
        'rehearse',
        '--source-url',
        sourceUrl,
        '--target-url',
        targetUrl,
        '--no-sample-data',
        '--cdc-seconds',
        '3',
        '--out',
        out,
      ],
      {
        onStderrLine: (line) => {
          if (!line.startsWith('» CDC:') || changes) return;
          // The application writes while CDC runs: an insert with a new key, an update with non-ASCII text, a delete.
          changes = withClient(sourceUrl, async (c) => {
            await c.query("INSERT INTO artist (name) VALUES ('Sigur Rós')");
            await c.query("UPDATE album SET title = title || ' (Remastered — 2026)' WHERE album_id = 1");
            await c.query(
              'DELETE FROM playlist_track WHERE playlist_id = 1 AND track_id = (SELECT min(track_id) FROM playlist_track WHERE playlist_id = 1)',
            );
            await c.query('UPDATE invoice SET total = total + 0.01 WHERE invoice_id = 5');
            await c.query('INSERT INTO play_log (track_id) VALUES (1), (2)');
            applied.push('done');
          });
        },
      },
    );
    await changes;
    report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('migrates every table and validates equal', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(applied).toEqual(['done']);
    expect(report.validation.verdict).toBe('equal');
    expect(report.validation.tables).toHaveLength(12);
    expect(report.cdc.changesAppliedOnTarget).toBeGreaterThanOrEqual(5);
  });

  it('warns, before the run, about the table whose UPDATE and DELETE cannot be replicated', () => {
    expect(report.warnings.join('\n')).toContain('public.play_log');
    const warning = run.stderr.indexOf('warning: 1 table(s) have no primary key');
    expect(warning).toBeGreaterThan(0);
    expect(warning).toBeLessThan(run.stderr.indexOf('full load:'));
  });

  it('leaves the same rows on both sides, changes made during CDC included', async () => {
    const { tables, differences } = await independentDiff(sourceUrl, targetUrl);
    expect(tables).toBe(12);
    expect(differences).toEqual([]);
    expect(await query(targetUrl, "SELECT name FROM artist WHERE name = 'Sigur Rós'")).toHaveLength(1);
  });

  it('copies the post-data: foreign keys and secondary indexes exist on the target', async () => {
    const sql = "SELECT conname FROM pg_constraint WHERE contype = 'f' ORDER BY 1";
    expect(await query(targetUrl, sql)).toEqual(await query(sourceUrl, sql));
    const idx = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1";
    expect(await query(targetUrl, idx)).toEqual(await query(sourceUrl, idx));
  });
});
