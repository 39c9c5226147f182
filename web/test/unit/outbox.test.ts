import { expect, test } from 'vitest';
import { Outbox, type PendingSend } from '../../src/sync/outbox';
import { MemStorage } from './memstore';

const item = (id: string): PendingSend => ({
  client_msg_id: id, conversation_id: 'c1', type: 'text', text: id, created_at: '2026-01-01T00:00:00Z', state: 'pending',
});

test('queued sends survive a reload with their client_msg_id, and leave once stored', () => {
  const storage = new MemStorage();
  const a = new Outbox('q', storage);
  a.add(item('k1'));
  a.add(item('k2'));
  a.fail('k2', 'You are not contacts.');
  const b = new Outbox('q', storage); // a reload
  expect(b.pending().map((p) => p.client_msg_id)).toEqual(['k1']);
  expect(b.get('k2')?.error).toBe('You are not contacts.');
  expect(b.resolve('k1')).toBe(true);
  expect(b.resolve('k1')).toBe(false); // the push and the result both resolve it: once
  expect(b.retry('k2')?.state).toBe('pending');
  expect(new Outbox('q', storage).pending().map((p) => p.client_msg_id)).toEqual(['k2']);
});
