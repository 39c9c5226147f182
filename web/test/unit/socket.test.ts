import { afterEach, describe, expect, test, vi } from 'vitest';
import { Socket, type SocketState } from '../../src/realtime/socket';

// A WebSocket that never answers a close: what an offline network gives.
class SilentSocket {
  static last: SilentSocket | null = null;
  readyState = 1;
  closed: { code?: number; reason?: string } | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    SilentSocket.last = this;
  }
  send() {}
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
    this.readyState = 2; // closing, and it stays so: no close frame ever comes back
  }
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('going offline', () => {
  test('the socket is let go at once, not when a close handshake that never ends ends', async () => {
    vi.useFakeTimers();
    const states: SocketState[] = [];
    const s = new Socket({
      url: () => 'ws://edge/v1/ws',
      ticket: async () => 't1',
      renew: async () => true,
      WebSocketImpl: SilentSocket as unknown as typeof WebSocket,
    });
    s.onState = (st) => states.push(st);
    s.start();
    await vi.waitFor(() => expect(SilentSocket.last).not.toBeNull());
    const ws = SilentSocket.last!;
    ws.onmessage!({ data: JSON.stringify({ type: 'hello', data: { heartbeat_interval_s: 25 } }) });
    expect(s.state).toBe('open');

    // A request in flight when the network goes is answered at once, not after its timeout.
    const inFlight = s.request('ping', {}).catch((e: Error) => e);
    vi.stubGlobal('navigator', { onLine: false });
    s.suspend();
    expect(ws.closed).toEqual({ code: 4000, reason: 'offline' });
    expect(s.state).toBe('closed');
    expect(s.isOpen).toBe(false);
    expect(await inFlight).toBeInstanceOf(Error);

    // Offline, the retry opens nothing new; a late close of the old socket changes nothing.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(SilentSocket.last).toBe(ws);
    ws.onclose?.({ code: 1006 });
    expect(s.state).toBe('closed');
  });
});
