import { describe, expect, test } from 'vitest';
import { nextAfterClose } from '../../src/realtime/backoff';

const max = () => 0.999999;
const min = () => 0;

describe('reconnect after a close (docs/protocol.md)', () => {
  test('4003 banned or deleted: never again', () => {
    expect(nextAfterClose(4003, 0).action).toBe('stop');
  });
  test('4001: refresh the token first, at once the first time', () => {
    expect(nextAfterClose(4001, 0, max)).toEqual({ action: 'refresh', delayMs: 0 });
    expect(nextAfterClose(4001, 3, max).action).toBe('refresh');
  });
  test('1012 drain: first attempt spread over 0-5 s', () => {
    const d = nextAfterClose(1012, 0, max);
    expect(d.action).toBe('retry');
    expect((d as { delayMs: number }).delayMs).toBeLessThan(5000);
    expect((d as { delayMs: number }).delayMs).toBeGreaterThan(4900);
  });
  test('4008 rate limited: at least 5 s', () => {
    expect((nextAfterClose(4008, 0, min) as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(5000);
  });
  test('1006 and 4009: exponential with full jitter, capped at 30 s', () => {
    const delays = [0, 1, 2, 3, 10, 40].map((a) => (nextAfterClose(1006, a, max) as { delayMs: number }).delayMs);
    expect(delays[1]).toBeGreaterThan(delays[0]);
    expect(delays[3]).toBeGreaterThan(delays[2]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000);
    expect((nextAfterClose(4009, 5, min) as { delayMs: number }).delayMs).toBe(0);
  });
  test('1008 policy: does not loop', () => {
    expect(nextAfterClose(1008, 0).action).toBe('retry');
    expect(nextAfterClose(1008, 2).action).toBe('stop');
  });
});
