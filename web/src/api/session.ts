// Tokens of the signed-in user.
//
// Where they live, and why: the access token (15 min) only in memory. The rotating refresh token in
// localStorage, because the contract hands it over in the JSON body (there is no httpOnly-cookie
// flow) and the session must survive a reload; localStorage is shared by the tabs of the origin, so
// every tab follows one rotation chain instead of each holding a copy that the others' rotations
// invalidate (reusing a rotated token revokes the whole family). Rotations are serialised across
// tabs with the Web Locks API and the token is re-read inside the lock. The page's Content-Security-
// Policy (script-src 'self', set by the server) keeps injected scripts from reading it.
import { Api, ApiError, type TokenSource, type Tokens, type User } from './client';

export const STORAGE_KEY = 'parley.session';
const DEVICE_KEY = 'parley.device';
/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_S = 60;

export interface Stored {
  refresh_token: string;
  user: User;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}
const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** When to refresh an access token valid for expiresIn seconds from issuedAt (ms). */
export function refreshAt(issuedAt: number, expiresIn: number): number {
  const lead = Math.min(REFRESH_MARGIN_S, expiresIn / 4);
  return issuedAt + Math.max(5, expiresIn - lead) * 1000;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks?.request) return locks.request('parley.refresh', fn) as Promise<T>;
  return fn();
}

export function deviceId(storage: Storage = localStorage): string {
  let id = storage.getItem(DEVICE_KEY);
  if (!id) {
    id = 'web-' + crypto.randomUUID();
    storage.setItem(DEVICE_KEY, id);
  }
  return id;
}

export class Session implements TokenSource {
  private access: string | null = null;
  private expiresAt = 0;
  private timer: unknown = null;
  private inflight: Promise<boolean> | null = null;
  /** Called when the session ends on its own (refresh refused): the UI shows the sign-in screen. */
  onEnded: (reason: string) => void = () => {};
  /** Called after every rotation (the socket may want a fresh token). */
  onRefreshed: () => void = () => {};

  constructor(
    private api: Api,
    private storage: Storage = localStorage,
    private clock: Clock = realClock,
  ) {}

  stored(): Stored | null {
    try {
      const raw = this.storage.getItem(STORAGE_KEY);
      return raw ? (JSON.parse(raw) as Stored) : null;
    } catch {
      return null;
    }
  }

  /** Takes the tokens of a register, login or refresh answer. */
  adopt(tokens: Tokens, user: User): void {
    this.storage.setItem(STORAGE_KEY, JSON.stringify({ refresh_token: tokens.refresh_token, user } satisfies Stored));
    this.access = tokens.access_token;
    const now = this.clock.now();
    this.expiresAt = now + tokens.expires_in * 1000;
    this.schedule(refreshAt(now, tokens.expires_in));
  }

  private schedule(at: number): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      void this.renew();
    }, Math.max(0, at - this.clock.now()));
  }

  async accessToken(): Promise<string | null> {
    if (this.access && this.clock.now() < this.expiresAt - 5000) return this.access;
    if (!this.stored()) return null;
    return (await this.renew()) ? this.access : null;
  }

  /** Rotates the refresh token (one rotation at a time, across tabs). False: the session is over. */
  renew(): Promise<boolean> {
    if (!this.inflight) {
      this.inflight = this.rotate().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async rotate(): Promise<boolean> {
    const before = this.stored();
    if (!before) return false;
    try {
      const user = before.user;
      const tokens = await withLock(async () => {
        const cur = this.stored(); // another tab may have rotated meanwhile: use its token
        if (!cur) throw new ApiError(401, 'unauthenticated', 'You were signed out.');
        return (await this.api.refresh(cur.refresh_token)).tokens;
      });
      this.adopt(tokens, user);
      this.onRefreshed();
      return true;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        this.clear();
        this.onEnded(e.status === 403 ? e.detail : 'Your session has ended. Please sign in again.');
        return false;
      }
      // Offline or a server error: keep the session and try again shortly.
      this.schedule(this.clock.now() + 5000);
      return false;
    }
  }

  clear(): void {
    this.storage.removeItem(STORAGE_KEY);
    this.access = null;
    this.expiresAt = 0;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
