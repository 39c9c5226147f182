// The WebSocket to the socket-edge: a one-use ticket per connection, hello, heartbeats, answers to
// framed requests, and reconnects per docs/protocol.md (the pull after each hello is the store's job:
// it listens for onOpen).
import { ApiError } from '../api/client';
import { nextAfterClose } from './backoff';
import { Close, type Frame, type Hello, type Push } from './frames';

export type SocketState = 'connecting' | 'open' | 'closed' | 'stopped';

export interface SocketDeps {
  url: () => string; // ws(s)://host/v1/ws
  ticket: () => Promise<string>; // POST /v1/ws/tickets
  renew: () => Promise<boolean>; // refresh the token after 4001
  WebSocketImpl?: typeof WebSocket;
}

interface Pending {
  resolve: (data: unknown) => void;
  reject: (e: ApiError) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

/** How long a framed request waits for its result (the server answers `unavailable` after 10 s). */
export const REQUEST_TIMEOUT_MS = 12_000;

export class Socket {
  state: SocketState = 'closed';
  hello: Hello | null = null;
  onOpen: (h: Hello) => void = () => {};
  onPush: (p: Push) => void = () => {};
  onState: (s: SocketState, reason?: string) => void = () => {};

  private ws: WebSocket | null = null;
  private attempt = 0;
  private seq = 0;
  private pending = new Map<string, Pending>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private beat: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private wanted = false;

  constructor(private deps: SocketDeps) {}

  start(): void {
    this.wanted = true;
    if (this.state === 'closed' || this.state === 'stopped') void this.connect();
  }

  /** Closes for good (sign-out). */
  stop(): void {
    this.wanted = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = this.ws;
    this.ws = null;
    this.cleanup('Signed out.');
    ws?.close(Close.Normal);
    this.setState('stopped');
  }

  /**
   * The browser says it is offline: drop the connection now (sends queue) instead of waiting for a
   * timeout. The socket is let go at once, not when its close handshake ends: offline, the server's
   * answer may never arrive, and until then the app would still count the connection as open.
   */
  suspend(): void {
    const ws = this.ws;
    if (!ws || !this.wanted) return;
    this.ws = null;
    this.cleanup('The connection was lost.');
    ws.close(4000, 'offline');
    this.scheduleRetry(4000); // a plain retry; connect waits for the `online` event
  }

  /** Reconnects at once (the browser came back online). */
  nudge(): void {
    if (!this.wanted || this.state === 'open' || this.state === 'connecting') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.connect();
  }

  private setState(s: SocketState, reason?: string) {
    this.state = s;
    this.onState(s, reason);
  }

  private async connect(): Promise<void> {
    if (!this.wanted) return;
    if (globalThis.navigator?.onLine === false) {
      // No request while the browser knows it is offline: the `online` event nudges us; a slow
      // retry covers a browser that never sends it.
      this.setState('closed');
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        void this.connect();
      }, 30_000);
      return;
    }
    this.setState('connecting');
    let ticket: string;
    try {
      ticket = await this.deps.ticket();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // the session ended; the app signs out
      this.scheduleRetry(Close.Abnormal);
      return;
    }
    if (!this.wanted) return;
    const Impl = this.deps.WebSocketImpl ?? WebSocket;
    const ws = new Impl(this.deps.url() + '?ticket=' + encodeURIComponent(ticket));
    this.ws = ws;
    ws.onmessage = (ev) => this.receive(ws, ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.cleanup('The connection was lost.');
      this.scheduleRetry(ev.code);
    };
    ws.onerror = () => {
      /* onclose follows with the code */
    };
  }

  private receive(ws: WebSocket, raw: unknown) {
    if (this.ws !== ws || typeof raw !== 'string') return;
    this.lastFrameAt = Date.now();
    let f: Frame;
    try {
      f = JSON.parse(raw) as Frame;
    } catch {
      return;
    }
    if (f.type === 'hello') {
      this.hello = f.data as Hello;
      this.attempt = 0;
      this.startHeartbeat(ws, this.hello.heartbeat_interval_s);
      this.setState('open');
      this.onOpen(this.hello);
      return;
    }
    if (f.id && (f.type === 'result' || f.type === 'error' || f.type === 'pong')) {
      const p = this.pending.get(f.id);
      if (!p) return;
      this.pending.delete(f.id);
      if (p.timer) clearTimeout(p.timer);
      if (f.type === 'error') {
        const d = (f.data ?? {}) as { code?: string; message?: string };
        p.reject(new ApiError(0, d.code ?? 'internal', d.message ?? 'The server refused this.'));
      } else {
        p.resolve(f.data);
      }
      return;
    }
    if (f.type === 'pong' || f.type === 'result' || f.type === 'error') return;
    this.onPush(f as Push);
  }

  private startHeartbeat(ws: WebSocket, intervalS: number) {
    if (this.beat) clearInterval(this.beat);
    const every = Math.max(5, intervalS || 25) * 1000;
    this.beat = setInterval(() => {
      if (this.ws !== ws) return;
      if (Date.now() - this.lastFrameAt > 2 * every + 5000) {
        ws.close(4000, 'silent'); // dead connection: onclose reconnects
        return;
      }
      this.fire('ping');
    }, every);
  }

  private cleanup(why: string) {
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new ApiError(0, 'unavailable', why));
    }
    this.pending.clear();
  }

  private scheduleRetry(code: number) {
    if (!this.wanted) return;
    const next = nextAfterClose(code, this.attempt++);
    if (next.action === 'stop') {
      this.wanted = false;
      this.setState('stopped', next.reason);
      return;
    }
    this.setState('closed');
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = null;
      if (next.action === 'refresh' && !(await this.deps.renew())) {
        this.scheduleRetry(Close.Abnormal);
        return;
      }
      void this.connect();
    }, next.delayMs);
  }

  get isOpen(): boolean {
    return this.state === 'open' && this.ws?.readyState === 1;
  }

  /** Sends a frame that expects an answer; rejects with the `error` frame's code and message. */
  request<T>(type: string, data?: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.isOpen) {
        reject(new ApiError(0, 'unavailable', 'Not connected.'));
        return;
      }
      const id = 'f' + ++this.seq;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ApiError(0, 'unavailable', 'The server did not answer in time.'));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (d: unknown) => void, reject, timer });
      this.ws!.send(JSON.stringify({ type, id, data }));
    });
  }

  /**
   * Sends a frame that is answered only when refused (ack, typing, call.*); onError gets the
   * refusal. Returns false when not connected.
   */
  fire(type: string, data?: unknown, onError?: (e: ApiError) => void): boolean {
    if (!this.isOpen) return false;
    const frame: Frame = { type, data };
    if (onError) {
      const id = 'f' + ++this.seq;
      frame.id = id;
      // No answer means accepted: forget the id after a while.
      const timer = setTimeout(() => this.pending.delete(id), REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve: () => {}, reject: onError, timer });
    }
    this.ws!.send(JSON.stringify(frame));
    return true;
  }
}
