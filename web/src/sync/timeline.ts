// One conversation's messages as this client holds them, merged by seq: a message pushed, pulled or
// answered twice is held once (de-duplicated by (conversation_id, seq)), a later copy of a message
// replaces the earlier (a recall), and `synced` is the highest seq below which nothing is missing,
// which is what the client acks and pulls after (docs/protocol.md "Delivery guarantees").
import type { Message } from '../api/client';

export class Timeline {
  private bySeq = new Map<number, Message>();
  private sortedCache: Message[] | null = null;
  /** Every seq in (base, synced] is held; pushes above synced+1 are a gap to pull. */
  synced: number;
  /** Lowest seq held from history (the first page's oldest); older pages load upwards. */
  oldest = Infinity;
  /** Whether history holds messages older than `oldest`. */
  hasOlder = true;
  /** True once the newest page was loaded (the conversation was opened). */
  loaded = false;

  constructor(synced = 0) {
    this.synced = synced;
  }

  get size(): number {
    return this.bySeq.size;
  }

  get newest(): number {
    let max = 0;
    for (const s of this.bySeq.keys()) if (s > max) max = s;
    return max;
  }

  get(seq: number): Message | undefined {
    return this.bySeq.get(seq);
  }

  /** Oldest first. */
  messages(): Message[] {
    if (!this.sortedCache) this.sortedCache = [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
    return this.sortedCache;
  }

  /**
   * Merges messages; returns those that were new. A known seq is replaced only by a copy that changes
   * it (revoked stays revoked: an older `normal` copy arriving late never un-recalls a message).
   */
  merge(msgs: Message[]): Message[] {
    const fresh: Message[] = [];
    for (const m of msgs) {
      const old = this.bySeq.get(m.seq);
      if (!old) {
        this.bySeq.set(m.seq, m);
        fresh.push(m);
      } else if (old.status === 'normal' && m.status !== 'normal') {
        this.bySeq.set(m.seq, m);
      } else {
        continue;
      }
      this.sortedCache = null;
    }
    this.advance();
    return fresh;
  }

  /** Records that a history page ended at seq `upTo` with nothing missing below it from `from`. */
  markSynced(upTo: number): void {
    if (upTo > this.synced) this.synced = upTo;
    this.advance();
  }

  private advance() {
    while (this.bySeq.has(this.synced + 1)) this.synced++;
  }

  /** Whether a message at seq would leave a hole after what is synced (a gap to pull). */
  gapBefore(seq: number): boolean {
    return seq > this.synced + 1;
  }

  noteOldest(msgs: Message[], hasMore: boolean): void {
    for (const m of msgs) if (m.seq < this.oldest) this.oldest = m.seq;
    this.hasOlder = hasMore && this.oldest > 1;
    if (this.oldest <= 1) this.hasOlder = false;
  }

  /**
   * An erasure (v1.1 `message.erased`): every held message of senderId with seq <= upToSeq keeps its
   * envelope and loses its content, status `erased`.
   */
  erase(senderId: string, upToSeq: number): void {
    for (const [seq, m] of this.bySeq) {
      if (m.sender_id !== senderId || seq > upToSeq || m.status === 'erased') continue;
      this.bySeq.set(seq, {
        id: m.id, conversation_id: m.conversation_id, seq: m.seq, sender_id: m.sender_id,
        client_msg_id: m.client_msg_id, type: m.type, created_at: m.created_at, status: 'erased',
      });
      this.sortedCache = null;
    }
  }

  /** A recall: replaces the message's content with the revoked copy (held or not). */
  revoke(m: Message): void {
    const old = this.bySeq.get(m.seq);
    if (old) {
      this.bySeq.set(m.seq, { ...old, ...m, status: m.status === 'normal' ? 'revoked' : m.status });
      this.sortedCache = null;
    }
  }
}
