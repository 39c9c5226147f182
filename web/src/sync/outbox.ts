// Messages written but not yet stored by the server. Each keeps its client_msg_id from the moment it
// is written, so a re-send after a reconnect (or a reload) is de-duplicated by the server
// ((sender, client_msg_id) is unique) and never stored twice. Kept in localStorage per user.
import type { FileInfo, MessageType } from '../api/client';

export interface PendingSend {
  client_msg_id: string;
  conversation_id: string;
  type: MessageType;
  text?: string;
  file_id?: string;
  file?: FileInfo;
  created_at: string;
  state: 'pending' | 'failed';
  error?: string;
}

export class Outbox {
  items: PendingSend[] = [];

  constructor(
    private key: string,
    private storage: Storage | null = typeof localStorage === 'undefined' ? null : localStorage,
  ) {
    try {
      const raw = this.storage?.getItem(key);
      if (raw) this.items = (JSON.parse(raw) as PendingSend[]).filter((p) => p.client_msg_id && p.conversation_id);
    } catch {
      this.items = [];
    }
  }

  add(p: PendingSend): void {
    this.items.push(p);
    this.save();
  }

  get(id: string): PendingSend | undefined {
    return this.items.find((p) => p.client_msg_id === id);
  }

  /** Removes the pending send the server stored (by client_msg_id); true when there was one. */
  resolve(clientMsgId: string): boolean {
    const n = this.items.length;
    this.items = this.items.filter((p) => p.client_msg_id !== clientMsgId);
    if (this.items.length === n) return false;
    this.save();
    return true;
  }

  fail(clientMsgId: string, error: string): void {
    const p = this.get(clientMsgId);
    if (!p) return;
    p.state = 'failed';
    p.error = error;
    this.save();
  }

  retry(clientMsgId: string): PendingSend | undefined {
    const p = this.get(clientMsgId);
    if (!p) return undefined;
    p.state = 'pending';
    p.error = undefined;
    this.save();
    return p;
  }

  /** What to (re-)send, oldest first. */
  pending(): PendingSend[] {
    return this.items.filter((p) => p.state === 'pending');
  }

  forConversation(id: string): PendingSend[] {
    return this.items.filter((p) => p.conversation_id === id);
  }

  private save() {
    try {
      this.storage?.setItem(this.key, JSON.stringify(this.items));
    } catch {
      /* storage full or disabled: the queue still lives in memory */
    }
  }
}
