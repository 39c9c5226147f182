import { describe, expect, test } from 'vitest';
import type { Message } from '../../src/api/client';
import { Timeline } from '../../src/sync/timeline';

const msg = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: 'm' + seq, conversation_id: 'c1', seq, sender_id: 'u1', client_msg_id: 'k' + seq, type: 'text', text: 't' + seq,
  status: 'normal', created_at: new Date(1_700_000_000_000 + seq * 1000).toISOString(), ...extra,
});

describe('Timeline', () => {
  test('holds each seq once, oldest first, whatever the arrival order and repeats', () => {
    const tl = new Timeline(0);
    expect(tl.merge([msg(2), msg(1)]).map((m) => m.seq)).toEqual([2, 1]);
    expect(tl.merge([msg(1), msg(2), msg(3)]).map((m) => m.seq)).toEqual([3]); // a resend or a pull overlap
    expect(tl.merge([msg(3)])).toEqual([]);
    expect(tl.messages().map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(tl.synced).toBe(3);
  });

  test('synced stops at a gap, and a push past it is a gap to pull', () => {
    const tl = new Timeline(10);
    tl.merge([msg(11)]);
    expect(tl.synced).toBe(11);
    expect(tl.gapBefore(12)).toBe(false);
    expect(tl.gapBefore(14)).toBe(true);
    tl.merge([msg(14)]);
    expect(tl.synced).toBe(11); // 12 and 13 missing: acks stay at 11
    tl.merge([msg(12), msg(13)]); // the pull fills the gap
    expect(tl.synced).toBe(14);
  });

  test('a recall replaces the content, and a late normal copy never un-recalls it', () => {
    const tl = new Timeline(0);
    tl.merge([msg(1)]);
    tl.revoke(msg(1, { status: 'revoked', text: undefined }));
    expect(tl.get(1)?.status).toBe('revoked');
    expect(tl.get(1)?.text).toBeUndefined();
    tl.merge([msg(1)]); // an older copy from a resend
    expect(tl.get(1)?.status).toBe('revoked');
    tl.merge([msg(2, { status: 'revoked' })]);
    expect(tl.get(2)?.status).toBe('revoked');
  });

  test('paging upwards tracks the oldest seq and whether more exists', () => {
    const tl = new Timeline(0);
    tl.merge([msg(51), msg(52)]);
    tl.noteOldest([msg(51), msg(52)], true);
    expect(tl.oldest).toBe(51);
    expect(tl.hasOlder).toBe(true);
    tl.merge([msg(1)]);
    tl.noteOldest([msg(1)], true);
    expect(tl.hasOlder).toBe(false); // seq 1 is the first there is
  });

  test('message.erased blanks the sender\'s messages up to its seq, and a late normal copy never restores one', () => {
    const tl = new Timeline(0);
    tl.merge([msg(1), msg(2, { sender_id: 'u2' }), msg(3), msg(4)]);
    tl.erase('u1', 3);
    const got = tl.messages().map((m) => [m.seq, m.status, m.text ?? '']);
    expect(got).toEqual([[1, 'erased', ''], [2, 'normal', 't2'], [3, 'erased', ''], [4, 'normal', 't4']]);
    tl.merge([msg(1)]);
    expect(tl.get(1)?.status).toBe('erased');
  });
});
