// When to reconnect after a close, per the protocol's reconnect algorithm (docs/protocol.md).
import { Close } from './frames';

export type Next =
  | { action: 'retry'; delayMs: number } // wait, then connect
  | { action: 'refresh'; delayMs: number } // refresh the token first, then connect
  | { action: 'stop'; reason: string }; // do not reconnect

const BASE_MS = 500;
const CAP_MS = 30_000;

/** attempt counts the failed attempts since the last hello (0 for the first reconnect). rand in [0,1). */
export function nextAfterClose(code: number, attempt: number, rand: () => number = Math.random): Next {
  const backoff = (base = BASE_MS) => Math.floor(rand() * Math.min(CAP_MS, base * 2 ** Math.min(attempt, 16)));
  switch (code) {
    case Close.Banned:
      return { action: 'stop', reason: 'This account is banned or deleted.' };
    case Close.Policy:
      return attempt < 2
        ? { action: 'retry', delayMs: 1000 + backoff() }
        : { action: 'stop', reason: 'The server refused this client (policy).' };
    case Close.Unauthenticated:
      return { action: 'refresh', delayMs: attempt === 0 ? 0 : backoff() };
    case Close.Restart:
      // A draining instance: spread its clients over 0-5 s first.
      return { action: 'retry', delayMs: attempt === 0 ? Math.floor(rand() * 5000) : backoff() };
    case Close.RateLimited:
      return { action: 'retry', delayMs: 5000 + backoff() };
    default:
      return { action: 'retry', delayMs: backoff() };
  }
}
