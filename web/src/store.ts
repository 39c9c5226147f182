// The application state and everything that changes it: session, contacts, conversations and their
// timelines, the send queue, uploads, typing, read receipts and calls. Views read it and call its
// actions; it talks to the server only through the typed API client and the socket.
import {
  Api, ApiError, type Contact, type ContactRequest, type Conversation, type FileInfo, type Member, type Message,
  type MessageType, type User,
} from './api/client';
import { Session, deviceId } from './api/session';
import { Calls } from './calls/calls';
import type { Push } from './realtime/frames';
import { Socket, type SocketState } from './realtime/socket';
import { Outbox, type PendingSend } from './sync/outbox';
import { Timeline } from './sync/timeline';

export interface Toast {
  id: number;
  text: string;
  kind: 'error' | 'info';
}

export interface Upload {
  id: string;
  conversation_id: string;
  filename: string;
  progress: number; // 0..1 of the bytes sent
  state: 'uploading' | 'processing' | 'failed';
  error?: string;
  xhr?: XMLHttpRequest;
}

interface FileLinks {
  download?: string;
  thumbnail?: string;
  until: number;
}

const PAGE = 50;
const TYPING_SHOW_MS = 6000;
const TYPING_RESEND_MS = 3000;
const TYPING_IDLE_MS = 4000;

export function messageTypeFor(contentType: string): MessageType {
  if (contentType.startsWith('image/')) return 'image';
  if (contentType.startsWith('audio/')) return 'audio';
  if (contentType.startsWith('video/')) return 'video';
  return 'file';
}

/** Sorts conversations by their newest activity, newest first. */
export function byActivity(a: Conversation, b: Conversation): number {
  const ta = a.last_message?.created_at ?? a.updated_at;
  const tb = b.last_message?.created_at ?? b.updated_at;
  return ta < tb ? 1 : ta > tb ? -1 : a.id < b.id ? 1 : -1;
}

export function parseUsernames(csv: string): string[] {
  return [...new Set(csv.split(/[,\s]+/).map((s) => s.trim().toLowerCase().replace(/^@/, '')).filter(Boolean))];
}

export function apiBase(): string {
  return (import.meta.env?.VITE_PARLEY_API as string | undefined)?.replace(/\/$/, '') ?? '';
}

function wsURL(base: string): string {
  if (base) return base.replace(/^http/, 'ws') + '/v1/ws';
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/ws';
}

export class Store {
  phase: 'boot' | 'signed-out' | 'signed-in' = 'boot';
  authError = '';
  authBusy = false;
  me: User | null = null;
  connection: SocketState = 'closed';
  connectionNote = '';

  users = new Map<string, User>();
  contacts: Contact[] = [];
  presence = new Map<string, boolean>();
  incoming: ContactRequest[] = [];
  conversations = new Map<string, Conversation>();
  timelines = new Map<string, Timeline>();
  members = new Map<string, Member[]>();
  peers = new Map<string, string>(); // direct conversation -> the other user
  typing = new Map<string, Map<string, number>>();
  openId: string | null = null;
  uploads: Upload[] = [];
  toasts: Toast[] = [];
  outbox: Outbox | null = null;
  loadingOlder = false;

  readonly api: Api;
  readonly session: Session;
  readonly socket: Socket;
  readonly calls: Calls;

  /** Bumped on every change notification. */
  version = 0;
  private listeners = new Set<() => void>();
  private scheduled = false;
  private acked = new Map<string, number>();
  private ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private pulling = new Map<string, Promise<void>>();
  private pullAgain = new Set<string>();
  private readTimer: ReturnType<typeof setTimeout> | null = null;
  private typingSent = new Map<string, number>();
  private typingStop = new Map<string, ReturnType<typeof setTimeout>>();
  private files = new Map<string, FileLinks>();
  private fileFetch = new Set<string>();
  private fileWaiters = new Map<string, (f: FileInfo) => void>();
  private userFetch = new Set<string>();
  private toastSeq = 0;
  private epoch = 0; // bumps on sign-out: late answers of the old session are dropped

  constructor(base = apiBase()) {
    const tokens = { accessToken: () => this.session.accessToken(), renew: () => this.session.renew() };
    this.api = new Api(base, tokens);
    const publicApi = new Api(base, null);
    this.session = new Session(publicApi);
    this.session.onEnded = (reason) => this.ended(reason);
    this.socket = new Socket({
      url: () => wsURL(base),
      ticket: async () => (await this.api.wsTicket()).ticket,
      renew: () => this.session.renew(),
    });
    this.socket.onState = (s, reason) => {
      this.connection = s;
      this.connectionNote = reason ?? '';
      this.changed();
    };
    this.socket.onOpen = () => void this.resync();
    this.socket.onPush = (p) => this.onPush(p);
    this.calls = new Calls({
      fire: (type, data, onError) => this.socket.fire(type, data, onError),
      iceServers: async () => (await this.api.iceServers()).ice_servers,
      changed: () => this.changed(),
      notice: (t) => this.toast(t, 'info'),
    });
  }

  // ---- change notification ----

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.version++;
      for (const fn of this.listeners) fn();
    });
  }

  toast(text: string, kind: Toast['kind'] = 'error'): void {
    const t = { id: ++this.toastSeq, text, kind };
    this.toasts = [...this.toasts.slice(-3), t];
    this.changed();
    setTimeout(() => this.dismiss(t.id), kind === 'error' ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
    this.changed();
  }

  private fail(e: unknown): void {
    this.toast(e instanceof Error ? e.message : String(e));
  }

  // ---- session ----

  async boot(): Promise<void> {
    window.addEventListener('online', () => this.socket.nudge());
    window.addEventListener('offline', () => this.socket.suspend());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') {
        this.socket.nudge();
        if (this.openId) this.markReadSoon(this.openId);
      }
    });
    const stored = this.session.stored();
    if (!stored) {
      this.phase = 'signed-out';
      this.changed();
      return;
    }
    const ok = await this.session.renew();
    if (!ok && !this.session.stored()) return; // refused: ended() showed the sign-in screen
    // Offline with a session: start with the stored user; the socket keeps trying.
    let me = stored.user;
    if (ok) {
      try {
        me = (await this.api.me()).user;
      } catch {
        /* keep the stored user */
      }
    }
    this.startSession(me);
  }

  async register(username: string, password: string): Promise<void> {
    await this.authenticate(() => this.api.register(username.trim(), password));
  }

  async login(username: string, password: string): Promise<void> {
    await this.authenticate(() => this.api.login(username.trim(), password, deviceId()));
  }

  private async authenticate(fn: () => Promise<{ user: User; tokens: import('./api/client').Tokens }>) {
    this.authBusy = true;
    this.authError = '';
    this.changed();
    try {
      const { user, tokens } = await fn();
      this.session.adopt(tokens, user);
      this.startSession(user);
    } catch (e) {
      this.authError = e instanceof Error ? e.message : String(e);
    } finally {
      this.authBusy = false;
      this.changed();
    }
  }

  private startSession(me: User) {
    this.me = me;
    this.users.set(me.id, me);
    this.outbox = new Outbox('parley.outbox.' + me.id);
    this.phase = 'signed-in';
    this.authError = '';
    this.changed();
    this.socket.start();
    void this.loadAll();
  }

  async logout(): Promise<void> {
    const rt = this.session.stored()?.refresh_token;
    if (this.me) localStorage.removeItem('parley.outbox.' + this.me.id); // an explicit sign-out drops unsent messages
    this.calls.close();
    this.socket.stop();
    try {
      await this.api.logout(rt);
    } catch {
      /* signed out locally either way */
    }
    this.ended('');
  }

  private ended(reason: string) {
    this.epoch++;
    this.calls.close();
    this.socket.stop();
    this.session.clear();
    this.me = null;
    this.users.clear();
    this.contacts = [];
    this.presence.clear();
    this.incoming = [];
    this.conversations.clear();
    this.timelines.clear();
    this.members.clear();
    this.peers.clear();
    this.typing.clear();
    this.acked.clear();
    this.files.clear();
    this.uploads.forEach((u) => u.xhr?.abort());
    this.uploads = [];
    this.openId = null;
    this.outbox = null;
    this.phase = 'signed-out';
    this.authError = reason;
    this.changed();
  }

  // ---- loading and the reconnect pull ----

  private async loadAll() {
    const epoch = this.epoch;
    await Promise.all([
      this.loadConversations().catch((e) => this.fail(e)),
      this.loadContacts().catch((e) => this.fail(e)),
      this.loadRequests().catch((e) => this.fail(e)),
    ]);
    if (epoch !== this.epoch) return;
    this.changed();
  }

  /** After every hello: list, pull what is missing, re-send the queue, ack (docs/protocol.md). */
  private async resync() {
    const epoch = this.epoch;
    try {
      await this.loadConversations(true);
      if (epoch !== this.epoch) return;
      this.flushOutbox();
      for (const id of this.timelines.keys()) this.ackSoon(id);
      if (this.openId) this.markReadSoon(this.openId);
      void this.loadContacts().catch(() => {});
      void this.loadRequests().catch(() => {});
    } catch (e) {
      if (epoch === this.epoch) this.fail(e);
    }
  }

  private async loadConversations(pull = false) {
    const epoch = this.epoch;
    const { conversations } = await this.api.conversations();
    if (epoch !== this.epoch) return;
    const seen = new Set<string>();
    for (const c of conversations) {
      seen.add(c.id);
      this.upsertConversation(c, true);
      const tl = this.timelines.get(c.id)!;
      if (c.last_seq > tl.synced) {
        if (tl.loaded || pull) void this.pull(c.id);
        if (!tl.loaded && !pull) tl.markSynced(c.last_seq);
      }
    }
    for (const id of [...this.conversations.keys()]) if (!seen.has(id)) this.dropConversation(id);
    this.changed();
  }

  private upsertConversation(c: Conversation, authoritative: boolean) {
    const old = this.conversations.get(c.id);
    if (!old) {
      this.conversations.set(c.id, { ...c });
      this.timelines.set(c.id, this.timelines.get(c.id) ?? new Timeline(c.last_seq));
      if (c.type === 'direct') void this.resolvePeer(c.id);
    } else if (authoritative) {
      // A snapshot older than what pushes already brought (answers can arrive out of order) must not
      // take back the summary: its unread count and last message are only taken when it is current.
      const { unread_count, read_seq, last_message, last_seq, ...rest } = c;
      Object.assign(old, rest);
      if (last_seq >= old.last_seq) {
        old.unread_count = unread_count;
        if (last_message) old.last_message = last_message;
      }
      old.read_seq = Math.max(old.read_seq, read_seq);
      old.last_seq = Math.max(old.last_seq, last_seq);
    } else {
      // A fact's copy: no per-member fields.
      old.title = c.title;
      old.members_count = c.members_count;
      old.updated_at = c.updated_at > old.updated_at ? c.updated_at : old.updated_at;
      old.last_seq = Math.max(old.last_seq, c.last_seq);
    }
  }

  private dropConversation(id: string) {
    this.conversations.delete(id);
    this.timelines.delete(id);
    this.members.delete(id);
    if (this.openId === id) this.openId = null;
  }

  /** Pages forward from what is held until nothing is missing (single flight per conversation). */
  private pull(id: string): Promise<void> {
    const running = this.pulling.get(id);
    if (running) {
      this.pullAgain.add(id);
      return running;
    }
    const epoch = this.epoch;
    const run = (async () => {
      try {
        do {
          this.pullAgain.delete(id);
          for (;;) {
            const tl = this.timelines.get(id);
            if (!tl || epoch !== this.epoch) return;
            const page = await this.api.messages(id, { after_seq: tl.synced, limit: 200 });
            if (epoch !== this.epoch) return;
            this.ingest(id, page.messages);
            const last = page.messages[page.messages.length - 1];
            if (last) tl.markSynced(last.seq);
            if (!page.has_more || !last) break;
          }
        } while (this.pullAgain.has(id));
      } catch (e) {
        if (epoch === this.epoch && !(e instanceof ApiError && e.status === 404)) this.fail(e);
      } finally {
        this.pulling.delete(id);
        this.ackSoon(id);
        this.changed();
      }
    })();
    this.pulling.set(id, run);
    return run;
  }

  /** Merges messages into a timeline and updates the conversation's summary. */
  private ingest(id: string, msgs: Message[]) {
    const tl = this.timelines.get(id);
    const conv = this.conversations.get(id);
    if (!tl || !conv) return;
    const counted = conv.last_seq; // the server's unread_count covers messages up to here
    const fresh = tl.merge(msgs);
    for (const m of msgs) {
      if (m.status !== 'normal') tl.revoke(m);
      if (m.sender_id === this.me?.id && this.outbox?.resolve(m.client_msg_id)) this.changed();
    }
    for (const m of fresh) {
      if (m.seq >= (conv.last_message?.seq ?? 0)) {
        conv.last_message = m;
        if (m.created_at > conv.updated_at) conv.updated_at = m.created_at;
      }
      conv.last_seq = Math.max(conv.last_seq, m.seq);
      if (m.sender_id !== this.me?.id && m.seq > conv.read_seq) {
        this.typing.get(id)?.delete(m.sender_id);
        if (!this.isVisible(id) && m.seq > counted) conv.unread_count = Math.max(conv.unread_count, 0) + 1;
      }
    }
    if (fresh.length && this.isVisible(id)) this.markReadSoon(id);
  }

  private isVisible(id: string): boolean {
    return this.openId === id && typeof document !== 'undefined' && document.visibilityState === 'visible';
  }

  private ackSoon(id: string) {
    if (this.ackTimers.has(id)) return;
    this.ackTimers.set(id, setTimeout(() => {
      this.ackTimers.delete(id);
      const tl = this.timelines.get(id);
      if (!tl || tl.synced <= (this.acked.get(id) ?? 0)) return;
      if (this.socket.fire('ack', { conversation_id: id, seq: tl.synced })) this.acked.set(id, tl.synced);
    }, 100));
  }

  // ---- pushes ----

  private onPush(p: Push) {
    const me = this.me?.id;
    if (!me) return;
    switch (p.type) {
      case 'message':
        void this.onMessage(p.data.message);
        return;
      case 'message.revoked':
        this.onRevoked(p.data.message);
        return;
      case 'message.erased': {
        const { conversation_id: id, sender_id: sender, up_to_seq: upTo } = p.data;
        this.timelines.get(id)?.erase(sender, upTo);
        const conv = this.conversations.get(id);
        const last = conv?.last_message;
        if (conv && last && last.sender_id === sender && last.seq <= upTo) {
          conv.last_message = { id: last.id, conversation_id: last.conversation_id, seq: last.seq, sender_id: last.sender_id,
            client_msg_id: last.client_msg_id, type: last.type, created_at: last.created_at, status: 'erased' };
        }
        this.changed();
        return;
      }
      case 'read':
        this.onRead(p.data.conversation_id, p.data.user_id, p.data.seq);
        return;
      case 'typing':
        this.onTyping(p.data.conversation_id, p.data.user_id, p.data.state);
        return;
      case 'presence':
        this.presence.set(p.data.user_id, p.data.online);
        this.changed();
        return;
      case 'contact.request': {
        const r = p.data.request;
        if (r.to_user_id === me && !this.incoming.some((x) => x.id === r.id)) {
          this.incoming = [...this.incoming, r];
          void this.user(r.from_user_id);
          this.changed();
        }
        return;
      }
      case 'contact.accepted':
        this.incoming = this.incoming.filter((x) => x.id !== p.data.request?.id);
        void this.loadContacts().catch(() => {});
        return;
      case 'contact.removed':
        void this.loadContacts().catch(() => {});
        return;
      case 'conversation.updated': {
        const c = p.data.conversation;
        if (!c) return;
        if (!this.conversations.has(c.id)) void this.fetchConversation(c.id);
        else this.upsertConversation(c, false);
        this.changed();
        return;
      }
      case 'member.added':
      case 'member.removed': {
        const { conversation_id: id, user_ids: ids = [] } = p.data;
        if (p.type === 'member.removed' && ids.includes(me)) {
          this.dropConversation(id);
        } else if (!this.conversations.has(id)) {
          void this.fetchConversation(id);
        } else {
          void this.fetchConversation(id);
        }
        this.changed();
        return;
      }
      case 'file.ready':
      case 'file.rejected': {
        const f = p.data.file;
        if (f) this.fileWaiters.get(f.id)?.(f);
        return;
      }
      case 'session.revoked': {
        const d = p.data as { session_id?: string; reason?: string };
        if (!d.session_id || d.session_id === this.socket.hello?.session_id) this.ended('You were signed out.');
        return;
      }
      default:
        if (p.type.startsWith('call.')) void this.calls.onSignal(p.type, p.data as never, me);
    }
  }

  private async onMessage(m: Message) {
    const id = m.conversation_id;
    if (!this.conversations.has(id)) {
      await this.fetchConversation(id, m.seq - 1);
      if (!this.conversations.has(id)) return;
    }
    const tl = this.timelines.get(id)!;
    const gap = tl.gapBefore(m.seq);
    this.ingest(id, [m]);
    void this.user(m.sender_id);
    if (gap) void this.pull(id);
    this.ackSoon(id);
    this.changed();
  }

  private onRevoked(m: Message) {
    const tl = this.timelines.get(m.conversation_id);
    tl?.revoke(m);
    const conv = this.conversations.get(m.conversation_id);
    if (conv?.last_message?.seq === m.seq) conv.last_message = { ...conv.last_message, ...m };
    this.changed();
  }

  private onRead(id: string, userId: string, seq: number) {
    const conv = this.conversations.get(id);
    if (!conv) return;
    if (userId === this.me?.id) {
      conv.read_seq = Math.max(conv.read_seq, seq);
      if (conv.read_seq >= conv.last_seq) conv.unread_count = 0;
    } else {
      const ms = this.members.get(id);
      const m = ms?.find((x) => x.user_id === userId);
      if (m) m.read_seq = Math.max(m.read_seq, seq);
      else if (ms) void this.loadMembers(id);
    }
    this.changed();
  }

  private onTyping(id: string, userId: string, state: 'start' | 'stop') {
    if (userId === this.me?.id) return;
    let t = this.typing.get(id);
    if (!t) this.typing.set(id, (t = new Map()));
    if (state === 'start') {
      t.set(userId, Date.now() + TYPING_SHOW_MS);
      void this.user(userId);
      setTimeout(() => this.changed(), TYPING_SHOW_MS + 50);
    } else {
      t.delete(userId);
    }
    this.changed();
  }

  /** Who is typing in a conversation now. */
  typers(id: string): string[] {
    const t = this.typing.get(id);
    if (!t) return [];
    const now = Date.now();
    return [...t.entries()].filter(([, until]) => until > now).map(([u]) => u);
  }

  private async fetchConversation(id: string, syncedBelow?: number) {
    try {
      const d = await this.api.conversation(id);
      const fresh = !this.conversations.has(id);
      if (fresh && syncedBelow !== undefined) this.timelines.set(id, new Timeline(Math.max(0, syncedBelow)));
      this.upsertConversation(d.conversation, true);
      this.members.set(id, d.members);
      this.learnPeer(id, d.conversation, d.members);
      this.changed();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) this.dropConversation(id);
      this.changed();
    }
  }

  // ---- users, contacts, presence ----

  /** The user with this id (from the cache; fetched once when unknown). */
  user(id: string): User | undefined {
    const u = this.users.get(id);
    if (!u && id && !this.userFetch.has(id)) {
      this.userFetch.add(id);
      this.api.user(id).then(
        (r) => {
          this.users.set(id, r.user);
          this.changed();
        },
        () => this.userFetch.delete(id),
      );
    }
    return u;
  }

  username(id: string): string {
    return this.user(id)?.username ?? '';
  }

  private async loadContacts() {
    const { contacts } = await this.api.contacts();
    this.contacts = contacts.sort((a, b) => a.user.username.localeCompare(b.user.username));
    for (const c of contacts) this.users.set(c.user.id, c.user);
    this.changed();
    const ids = contacts.map((c) => c.user.id);
    for (let i = 0; i < ids.length; i += 200) {
      const { presence } = await this.api.presence(ids.slice(i, i + 200));
      for (const p of presence) this.presence.set(p.user_id, p.online);
    }
    this.changed();
  }

  private async loadRequests() {
    const { requests } = await this.api.contactRequests('incoming');
    this.incoming = requests.filter((r) => r.status === 'pending');
    for (const r of this.incoming) void this.user(r.from_user_id);
    this.changed();
  }

  async addContact(username: string): Promise<boolean> {
    const name = parseUsernames(username)[0];
    if (!name) {
      this.toast('Type the username of the person to add.');
      return false;
    }
    try {
      const { user } = await this.api.findUser(name);
      await this.api.requestContact(user.id);
      this.toast(`Contact request sent to ${user.username}.`, 'info');
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  async answerRequest(r: ContactRequest, accept: boolean): Promise<void> {
    try {
      if (accept) await this.api.acceptRequest(r.id);
      else await this.api.rejectRequest(r.id);
      this.incoming = this.incoming.filter((x) => x.id !== r.id);
      this.changed();
      if (accept) await this.loadContacts();
    } catch (e) {
      this.fail(e);
    }
  }

  async removeContact(userId: string): Promise<void> {
    try {
      await this.api.removeContact(userId);
      await this.loadContacts();
    } catch (e) {
      this.fail(e);
    }
  }

  async block(userId: string): Promise<void> {
    try {
      await this.api.block(userId);
      this.toast(`${this.username(userId) || 'The user'} is blocked.`, 'info');
      await this.loadContacts();
    } catch (e) {
      this.fail(e);
    }
  }

  // ---- conversations ----

  sortedConversations(): Conversation[] {
    return [...this.conversations.values()].sort(byActivity);
  }

  title(c: Conversation): string {
    if (c.type === 'direct') {
      const peer = this.peers.get(c.id);
      return (peer && this.username(peer)) || c.title || '';
    }
    return c.title;
  }

  peerOf(id: string): string | undefined {
    return this.peers.get(id);
  }

  private learnPeer(id: string, c: Conversation, members: Member[]) {
    if (c.type !== 'direct') return;
    const peer = members.find((m) => m.user_id !== this.me?.id);
    if (peer) {
      this.peers.set(id, peer.user_id);
      void this.user(peer.user_id);
    }
  }

  private async resolvePeer(id: string) {
    if (this.peers.has(id)) return;
    await this.loadMembers(id);
  }

  private async loadMembers(id: string) {
    try {
      const d = await this.api.conversation(id);
      this.members.set(id, d.members);
      this.learnPeer(id, d.conversation, d.members);
      for (const m of d.members) void this.user(m.user_id);
      this.changed();
    } catch {
      /* shown when the conversation is opened */
    }
  }

  async chatWith(userId: string): Promise<void> {
    try {
      const { conversation } = await this.api.openDirect(userId);
      this.peers.set(conversation.id, userId);
      this.upsertConversation(conversation, true);
      await this.open(conversation.id);
    } catch (e) {
      this.fail(e);
    }
  }

  private async resolveUsernames(csv: string): Promise<string[]> {
    const ids: string[] = [];
    for (const name of parseUsernames(csv)) {
      if (name === this.me?.username) continue;
      try {
        ids.push((await this.api.findUser(name)).user.id);
      } catch (e) {
        throw new ApiError(404, 'not_found', e instanceof ApiError && e.status === 404 ? `No user is called ${name}.` : (e as Error).message);
      }
    }
    return ids;
  }

  async createGroup(title: string, membersCsv: string): Promise<boolean> {
    try {
      if (!title.trim()) throw new Error('Give the group a title.');
      const ids = await this.resolveUsernames(membersCsv);
      const { conversation } = await this.api.createGroup(title.trim(), ids);
      this.upsertConversation(conversation, true);
      await this.open(conversation.id);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  async rename(id: string, title: string): Promise<void> {
    try {
      const { conversation } = await this.api.rename(id, title.trim());
      this.upsertConversation(conversation, false);
      this.changed();
    } catch (e) {
      this.fail(e);
    }
  }

  async addMembers(id: string, csv: string): Promise<boolean> {
    try {
      const ids = await this.resolveUsernames(csv);
      if (!ids.length) throw new Error('Type the usernames to add.');
      await this.api.addMembers(id, ids);
      await this.loadMembers(id);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  async removeMember(id: string, userId: string): Promise<void> {
    try {
      await this.api.removeMember(id, userId);
      if (userId === this.me?.id) {
        this.dropConversation(id);
        this.changed();
      } else await this.loadMembers(id);
    } catch (e) {
      this.fail(e);
    }
  }

  leave(id: string): Promise<void> {
    return this.removeMember(id, this.me!.id);
  }

  async open(id: string | null): Promise<void> {
    this.openId = id;
    this.changed();
    if (!id) return;
    const c = this.conversations.get(id);
    if (c && this.isVisible(id)) c.unread_count = 0; // read below, once the newest page is in
    const tl = this.timelines.get(id);
    if (!tl) return;
    const epoch = this.epoch;
    void this.loadMembers(id);
    if (!tl.loaded) {
      try {
        const page = await this.api.messages(id, { limit: PAGE });
        if (epoch !== this.epoch) return;
        tl.loaded = true;
        this.ingest(id, page.messages);
        tl.noteOldest(page.messages, page.has_more);
        const last = page.messages[page.messages.length - 1];
        if (last) tl.markSynced(last.seq);
        if (this.conversations.get(id)!.last_seq > tl.synced) void this.pull(id);
      } catch (e) {
        this.fail(e);
      }
    }
    this.markReadSoon(id);
    this.changed();
  }

  async loadOlder(id: string): Promise<void> {
    const tl = this.timelines.get(id);
    if (!tl || !tl.hasOlder || this.loadingOlder) return;
    this.loadingOlder = true;
    this.changed();
    try {
      const page = await this.api.messages(id, { before_seq: tl.oldest, limit: PAGE });
      tl.merge(page.messages);
      tl.noteOldest(page.messages, page.has_more);
      if (!page.messages.length) tl.hasOlder = false;
    } catch (e) {
      this.fail(e);
    } finally {
      this.loadingOlder = false;
      this.changed();
    }
  }

  private markReadSoon(id: string) {
    if (this.readTimer) clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      const conv = this.conversations.get(id);
      const tl = this.timelines.get(id);
      if (!conv || !tl || !this.isVisible(id)) return;
      const seq = Math.max(tl.newest, 0);
      // Only what others wrote needs reading (my own messages are read by definition).
      const theirs = tl.messages().reduce((max, m) => (m.sender_id !== this.me?.id && m.seq > max ? m.seq : max), 0);
      if (theirs <= conv.read_seq && conv.unread_count === 0) return;
      if (globalThis.navigator?.onLine === false) return; // read again after the reconnect's resync
      conv.unread_count = 0;
      conv.read_seq = Math.max(conv.read_seq, seq);
      this.changed();
      if (seq <= 0) return;
      const done = this.socket.isOpen
        ? this.socket.request('read', { conversation_id: id, seq })
        : this.api.markRead(id, seq);
      done.catch(() => {
        /* the next read covers it */
      });
    }, 250);
  }

  /** Read receipts of one of my messages: the peer's (direct) or how many members read it (group). */
  readBy(id: string, seq: number): number {
    const me = this.me?.id;
    return (this.members.get(id) ?? []).filter((m) => m.user_id !== me && m.read_seq >= seq).length;
  }

  // ---- sending ----

  typingInput(id: string): void {
    const now = Date.now();
    if (now - (this.typingSent.get(id) ?? 0) > TYPING_RESEND_MS) {
      this.typingSent.set(id, now);
      this.socket.fire('typing', { conversation_id: id, state: 'start' });
    }
    const t = this.typingStop.get(id);
    if (t) clearTimeout(t);
    this.typingStop.set(id, setTimeout(() => this.typingDone(id), TYPING_IDLE_MS));
  }

  private typingDone(id: string) {
    const t = this.typingStop.get(id);
    if (t) clearTimeout(t);
    this.typingStop.delete(id);
    if (this.typingSent.has(id)) {
      this.typingSent.delete(id);
      this.socket.fire('typing', { conversation_id: id, state: 'stop' });
    }
  }

  sendText(id: string, text: string): void {
    const body = text.trim();
    if (!body) return;
    this.typingDone(id);
    this.enqueue({ conversation_id: id, type: 'text', text: body });
  }

  private enqueue(p: Pick<PendingSend, 'conversation_id' | 'type' | 'text' | 'file_id' | 'file'>) {
    if (!this.outbox) return;
    const item: PendingSend = { ...p, client_msg_id: crypto.randomUUID(), created_at: new Date().toISOString(), state: 'pending' };
    this.outbox.add(item);
    this.changed();
    void this.flush(item);
  }

  private flushOutbox() {
    for (const p of this.outbox?.pending() ?? []) void this.flush(p);
  }

  private inflight = new Set<string>();

  /** Sends one queued message on the socket; stays queued while offline (same client_msg_id later). */
  private async flush(p: PendingSend) {
    if (!this.socket.isOpen || this.inflight.has(p.client_msg_id)) return;
    this.inflight.add(p.client_msg_id);
    const epoch = this.epoch;
    try {
      const res = await this.socket.request<{ message: Message }>('send', {
        conversation_id: p.conversation_id, client_msg_id: p.client_msg_id, type: p.type, text: p.text, file_id: p.file_id,
      });
      if (epoch !== this.epoch) return;
      this.outbox?.resolve(p.client_msg_id);
      if (res?.message) {
        const tl = this.timelines.get(p.conversation_id);
        const gap = tl?.gapBefore(res.message.seq);
        this.ingest(p.conversation_id, [res.message]);
        if (gap) void this.pull(p.conversation_id);
      }
    } catch (e) {
      if (epoch !== this.epoch) return;
      const err = e as ApiError;
      if (err.code === 'unavailable' || err.code === 'rate_limited') {
        // Not known to be stored: re-sent with the same client_msg_id when connected again.
        setTimeout(() => this.inflight.has(p.client_msg_id) || void this.flush(p), 3000);
      } else {
        this.outbox?.fail(p.client_msg_id, err.message);
        this.toast(err.message);
      }
    } finally {
      this.inflight.delete(p.client_msg_id);
      this.changed();
    }
  }

  retrySend(clientMsgId: string): void {
    const p = this.outbox?.retry(clientMsgId);
    if (p) void this.flush(p);
    this.changed();
  }

  discard(clientMsgId: string): void {
    this.outbox?.resolve(clientMsgId);
    this.changed();
  }

  pendingFor(id: string): PendingSend[] {
    return this.outbox?.forConversation(id) ?? [];
  }

  async revoke(m: Message): Promise<void> {
    try {
      const { message } = await this.api.revoke(m.id);
      this.onRevoked(message);
    } catch (e) {
      this.fail(e);
    }
  }

  // ---- files ----

  async sendFiles(id: string, files: File[]): Promise<void> {
    for (const f of files) await this.sendFile(id, f);
  }

  private async sendFile(id: string, blob: File) {
    const up: Upload = { id: crypto.randomUUID(), conversation_id: id, filename: blob.name, progress: 0, state: 'uploading' };
    this.uploads = [...this.uploads, up];
    this.changed();
    const epoch = this.epoch;
    try {
      const type = blob.type || 'application/octet-stream';
      const { file, upload } = await this.api.createFile(blob.name || 'file', type, blob.size);
      await new Promise<void>((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        up.xhr = xhr;
        xhr.open(upload.method ?? 'PUT', upload.url);
        for (const [k, v] of Object.entries(upload.headers ?? {})) {
          if (!/^(host|content-length)$/i.test(k)) xhr.setRequestHeader(k, v);
        }
        xhr.upload.onprogress = (ev) => {
          if (ev.lengthComputable) {
            up.progress = ev.loaded / ev.total;
            this.changed();
          }
        };
        xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`The upload failed (${xhr.status}).`)));
        xhr.onerror = () => reject(new Error('The upload failed: the file store cannot be reached.'));
        xhr.onabort = () => reject(new Error('The upload was cancelled.'));
        xhr.send(blob);
      });
      up.progress = 1;
      up.state = 'processing';
      this.changed();
      const ready = await this.waitReady(file.id);
      if (epoch !== this.epoch) return;
      if (ready.status !== 'ready') throw new Error(`${blob.name} was refused by the server.`);
      this.uploads = this.uploads.filter((u) => u !== up);
      this.enqueue({ conversation_id: id, type: messageTypeFor(ready.content_type), file_id: ready.id, file: ready });
    } catch (e) {
      up.state = 'failed';
      up.error = (e as Error).message;
      this.fail(e);
    } finally {
      this.changed();
    }
  }

  dropUpload(u: Upload): void {
    u.xhr?.abort();
    this.uploads = this.uploads.filter((x) => x !== u);
    this.changed();
  }

  /** Resolves when the file is ready or rejected: the file.ready push, or polling as a fallback. */
  private waitReady(fileId: string): Promise<FileInfo> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (f: FileInfo) => {
        if (done) return;
        done = true;
        this.fileWaiters.delete(fileId);
        resolve(f);
      };
      this.fileWaiters.set(fileId, finish);
      const started = Date.now();
      const poll = async () => {
        if (done) return;
        try {
          const { file } = await this.api.file(fileId);
          if (file.status !== 'pending') return finish(file);
        } catch {
          /* keep waiting */
        }
        if (Date.now() - started > 120_000) {
          done = true;
          this.fileWaiters.delete(fileId);
          reject(new Error('The file was not processed in time.'));
          return;
        }
        setTimeout(poll, 1500);
      };
      setTimeout(poll, 800);
    });
  }

  /** Presigned links of a file (cached until they expire); undefined while they are fetched. */
  fileLinks(fileId: string): FileLinks | undefined {
    const l = this.files.get(fileId);
    if (l && l.until > Date.now()) return l;
    if (!this.fileFetch.has(fileId)) {
      this.fileFetch.add(fileId);
      this.api.file(fileId).then(
        (r) => {
          const exp = r.download ? Date.parse((r.download as { expires_at?: string }).expires_at ?? '') : NaN;
          this.files.set(fileId, {
            download: r.download?.url,
            thumbnail: r.thumbnail?.url,
            until: (Number.isFinite(exp) ? exp : Date.now() + 300_000) - 30_000,
          });
          this.fileFetch.delete(fileId);
          this.changed();
        },
        () => this.fileFetch.delete(fileId),
      );
    }
    return l;
  }
}


