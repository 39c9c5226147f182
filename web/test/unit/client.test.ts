import { describe, expect, test } from 'vitest';
import { Api, ApiError, buildPath, problemOf } from '../../src/api/client';
import { byActivity, messageTypeFor, parseUsernames } from '../../src/store';

describe('the typed client', () => {
  test('paths and queries', () => {
    expect(buildPath('/v1/conversations/{id}/members/{user_id}', { id: 'c 1', user_id: 'u/2' })).toBe('/v1/conversations/c%201/members/u%2F2');
    expect(buildPath('/v1/presence', undefined, { user_ids: ['a', 'b'] })).toBe('/v1/presence?user_ids=a%2Cb');
    expect(buildPath('/v1/conversations/{id}/messages', { id: 'c' }, { after_seq: 0, before_seq: undefined, limit: 200 }))
      .toBe('/v1/conversations/c/messages?after_seq=0&limit=200');
    expect(() => buildPath('/v1/users/{id}', {})).toThrow(/id/);
  });

  test('errors carry the problem detail, readable with its field', async () => {
    const res = (body: unknown, status: number) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json' } });
    let e = await problemOf(res({ code: 'invalid_argument', detail: 'must be 8 to 128 characters', field: 'password', status: 400, title: 'Bad Request', type: 'x' }, 400));
    expect(e.message).toBe('Password must be 8 to 128 characters');
    expect(e.code).toBe('invalid_argument');
    e = await problemOf(res({ code: 'not_contacts', detail: 'You can only message your contacts.', status: 403, title: 'Forbidden', type: 'x' }, 403));
    expect(e.message).toBe('You can only message your contacts.');
    e = await problemOf(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(e.message).toMatch(/502/);
  });

  test('a 401 refreshes once and retries with the new token', async () => {
    const seen: string[] = [];
    let token = 'old';
    const fetchFn = (async (_u: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      seen.push(auth);
      return auth === 'Bearer new'
        ? new Response(JSON.stringify({ contacts: [] }), { status: 200 })
        : new Response(JSON.stringify({ code: 'unauthenticated', detail: 'expired', status: 401, title: 'x', type: 'x' }), { status: 401 });
    }) as typeof fetch;
    const api = new Api('http://x', { accessToken: async () => token, renew: async () => ((token = 'new'), true) }, fetchFn);
    expect(await api.contacts()).toEqual({ contacts: [] });
    expect(seen).toEqual(['Bearer old', 'Bearer new']);
  });

  test('unreachable server: a plain sentence', async () => {
    const api = new Api('http://x', null, (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch);
    await expect(api.login('a', 'b')).rejects.toThrow(ApiError);
    await expect(api.login('a', 'b')).rejects.toThrow(/cannot be reached/);
  });
});

describe('helpers', () => {
  test('conversations sort newest activity first', () => {
    const c = (id: string, at: string, last?: string) => ({ id, updated_at: at, last_message: last ? { created_at: last } : undefined }) as never;
    const list = [c('a', '2026-01-01T00:00:00Z'), c('b', '2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z'), c('c', '2026-01-02T00:00:00Z')];
    expect(list.sort(byActivity).map((x: { id: string }) => x.id)).toEqual(['b', 'c', 'a']);
  });
  test('usernames from a comma list', () => {
    expect(parseUsernames(' Alice, bob,,@carol  bob ')).toEqual(['alice', 'bob', 'carol']);
  });
  test('message type from the content type', () => {
    expect(messageTypeFor('image/png')).toBe('image');
    expect(messageTypeFor('audio/ogg')).toBe('audio');
    expect(messageTypeFor('video/mp4')).toBe('video');
    expect(messageTypeFor('application/pdf')).toBe('file');
  });
});
