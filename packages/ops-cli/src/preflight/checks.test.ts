import { describe, expect, it } from 'vitest';
import { type ServerFacts, sourceServerChecks } from './checks.js';

const facts = (settings: Record<string, string>, used: { slots: number; senders: number }): ServerFacts => ({
  address: '127.0.0.1:5432/shop',
  major: 15,
  version: '15.8',
  settings: { wal_level: 'logical', max_slot_wal_keep_size: '-1', wal_sender_timeout: '60000', ...settings },
  user: 'dms',
  superuser: false,
  replicationRole: true,
  rdsReplication: false,
  createSubscription: false,
  slotsUsed: used.slots,
  sendersUsed: used.senders,
  ssl: true,
  extensions: [],
  availableExtensions: [],
  largeObjects: 0,
  walBytes: null,
});

describe('slots and WAL senders for every replication stream (each DMS task reads a slot of its own)', () => {
  const check = (id: string, streams: number, f: ServerFacts) =>
    sourceServerChecks(f, true, streams).find((c) => c.id === id)!;

  it('one task fits where four do not', () => {
    const f = facts({ max_replication_slots: '5', max_wal_senders: '6' }, { slots: 1, senders: 1 });
    expect(check('replication-slots', 1, f).passed).toBe(true);
    expect(check('wal-senders', 1, f).passed).toBe(true);
    const slots = check('replication-slots', 4, f);
    expect(slots.passed).toBe(false);
    expect(slots.fix).toBe('set max_replication_slots to at least 9 and restart');
    const senders = check('wal-senders', 4, f);
    expect(senders.passed).toBe(false);
    expect(senders.fix).toBe('set max_wal_senders to at least 9 and restart');
  });
});
