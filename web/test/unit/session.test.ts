import { describe, expect, test } from 'vitest';
import { Api, type Tokens, type User } from '../../src/api/client';
import { STORAGE_KEY, Session, refreshAt, type Clock } from '../../src/api/session';
import { MemStorage } from './memstore';

const user: User = { id: 'u1', username: 'alice', display_name: 'Alice', avatar_url: '', created_at: '2026-01-01T00:00:00Z' };
const tokens = (n: number, expiresIn = 900): Tokens => ({ access_token: 'a' + n, refresh_token: 'r' + n, token_type: 'Bearer', expires_in: expiresIn });

class FakeClock implements Clock {
  t = 1_000_000;
  timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id);
  };
  async advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** A fake identity function: rotates refresh tokens and refuses a reused one. */
function fakeServer() {
  let current = 'r1';
  let n = 1;
  const calls: string[] = [];
  const fetchFn = (async (_url: string, init: RequestInit) => {
    const { refresh_token } = JSON.parse(String(init.body));
    calls.push(refresh_token);
    if (refresh_token !== current) {
      return new Response(JSON.stringify({ code: 'unauthenticated', detail: 'refresh token reused', status: 401, title: 'Unauthorized', type: 'x' }), { status: 401 });
    }
    n++;
    current = 'r' + n;
    return new Response(JSON.stringify({ tokens: tokens(n) }), { status: 200 });
  }) as typeof fetch;
  return { api: new Api('', null, fetchFn), calls };
}

describe('Session', () => {
  test('refreshes ahead of expiry, a minute early for a 15-minute token', () => {
    expect(refreshAt(0, 900)).toBe(840_000);
    expect(refreshAt(0, 60)).toBe(45_000); // a quarter of a short lifetime
  });

  test('keeps the refresh token in storage and rotates it before the access token expires', async () => {
    const clock = new FakeClock();
    const storage = new MemStorage();
    const { api, calls } = fakeServer();
    const s = new Session(api, storage, clock);
    s.adopt(tokens(1), user);
    expect(JSON.parse(storage.getItem(STORAGE_KEY)!).refresh_token).toBe('r1');
    expect(await s.accessToken()).toBe('a1');
    await clock.advance(841_000);
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(['r1']);
    expect(JSON.parse(storage.getItem(STORAGE_KEY)!).refresh_token).toBe('r2');
    expect(await s.accessToken()).toBe('a2');
  });

  test('a reload starts from the stored refresh token; two tabs rotate one chain', async () => {
    const storage = new MemStorage();
    const { api, calls } = fakeServer();
    const tab1 = new Session(api, storage, new FakeClock());
    tab1.adopt(tokens(1), user);
    const tab2 = new Session(api, storage, new FakeClock()); // a reload or a second tab: nothing in memory
    expect(await tab2.accessToken()).toBe('a2');
    expect(await tab1.renew()).toBe(true); // reads r2 from storage, not its stale r1
    expect(calls).toEqual(['r1', 'r2']);
  });

  test('a refused refresh ends the session and clears storage', async () => {
    const storage = new MemStorage();
    storage.setItem(STORAGE_KEY, JSON.stringify({ refresh_token: 'stolen', user }));
    const { api } = fakeServer();
    const s = new Session(api, storage, new FakeClock());
    let ended = '';
    s.onEnded = (r) => (ended = r);
    expect(await s.renew()).toBe(false);
    expect(storage.getItem(STORAGE_KEY)).toBeNull();
    expect(ended).toMatch(/sign in again/);
  });

  test('offline: the session is kept and retried', async () => {
    const storage = new MemStorage();
    const clock = new FakeClock();
    const api = new Api('', null, (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch);
    const s = new Session(api, storage, clock);
    s.adopt(tokens(1, 1), user);
    expect(await s.renew()).toBe(false);
    expect(storage.getItem(STORAGE_KEY)).not.toBeNull();
    expect(clock.timers.length).toBe(1);
  });
});
