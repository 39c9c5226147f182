// The typed HTTP client of the public API. Every call names a path and method of
// docs/openapi.yaml through the generated `paths` type (schema.gen.ts), so its parameters, body and
// answer are checked by `tsc` against the contract: a renamed route or field fails the build.
import type { components, paths } from './schema.gen';

type Schemas = components['schemas'];
export type User = Schemas['User'];
export type Tokens = Schemas['Tokens'];
export type Contact = Schemas['Contact'];
export type ContactRequest = Schemas['ContactRequest'];
export type Conversation = Schemas['Conversation'];
export type Member = Schemas['Member'];
export type Message = Schemas['Message'];
export type FileInfo = Schemas['File'];
export type Presence = Schemas['Presence'];
export type Presigned = Schemas['PresignedRequest'];
export type ICEServer = Schemas['ICEServer'];
export type Problem = Schemas['Problem'];
export type MessageType = Message["type"];
export type SendBody = Schemas["SendMessage"];

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Op<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O } ? O : never;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type Ok<R> = Extract<keyof R, 200 | 201>;
/** The JSON answer of a successful call (void for 204). */
export type Answer<O> = O extends { responses: infer R } ? ([Ok<R>] extends [never] ? void : JsonOf<R[Ok<R>]>) : never;
type BodyOf<O> = O extends { requestBody: { content: { 'application/json': infer B } } }
  ? { body: B }
  : O extends { requestBody?: { content: { 'application/json': infer B } } }
    ? { body?: B }
    : { body?: undefined };
type PathOf<O> = O extends { parameters: { path: infer PP } } ? { path: PP } : { path?: undefined };
type QueryOf<O> = O extends { parameters: { query: infer Q } }
  ? { query: Q }
  : O extends { parameters: { query?: infer Q } }
    ? { query?: Q }
    : { query?: undefined };
export type Options<O> = BodyOf<O> & PathOf<O> & QueryOf<O> & { signal?: AbortSignal };

/** An error answer of the API: `detail` is safe to show a user, `code` is what to branch on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(detail || code || `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** Where the client gets its access token; `renew` forces a refresh after a 401 (false: signed out). */
export interface TokenSource {
  accessToken(): Promise<string | null>;
  renew(): Promise<boolean>;
}

/** Turns a failed response into an ApiError from its problem+json body (or a plain sentence). */
export async function problemOf(res: Response): Promise<ApiError> {
  let p: Partial<Problem> = {};
  try {
    p = (await res.json()) as Partial<Problem>;
  } catch {
    /* not JSON: keep the status line */
  }
  let detail = p.detail || p.title || `The server answered ${res.status} ${res.statusText}`.trim();
  // "must be 8 to 128 characters" about field "password" reads "Password must be 8 to 128 characters".
  if (p.field && p.detail && !p.detail.toLowerCase().includes(p.field.toLowerCase()) && /^[a-z]/.test(p.detail)) {
    detail = p.field.charAt(0).toUpperCase() + p.field.slice(1).replace(/_/g, ' ') + ' ' + p.detail;
  }
  return new ApiError(res.status, p.code || 'internal', detail, p.field);
}

export function buildPath(template: string, params?: Record<string, unknown>, query?: Record<string, unknown>): string {
  let path = template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = params?.[k];
    if (v === undefined || v === null || v === '') throw new Error(`missing path parameter ${k}`);
    return encodeURIComponent(String(v));
  });
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      q.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    const s = q.toString();
    if (s) path += '?' + s;
  }
  return path;
}

export class Api {
  constructor(
    readonly base: string,
    private tokens: TokenSource | null,
    private fetchFn: typeof fetch = (...a) => fetch(...a),
  ) {}

  /** A call of the public API. The path and method must be those of docs/openapi.yaml. */
  async call<P extends keyof paths, M extends Method>(method: M, path: P, opts: Options<Op<P, M>>): Promise<Answer<Op<P, M>>> {
    const o = opts as { body?: unknown; path?: Record<string, unknown>; query?: Record<string, unknown>; signal?: AbortSignal };
    const url = this.base + buildPath(path as string, o.path, o.query);
    const send = async (token: string | null) => {
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (o.body !== undefined) headers['Content-Type'] = 'application/json';
      if (token) headers.Authorization = 'Bearer ' + token;
      return this.fetchFn(url, {
        method: method.toUpperCase(),
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: o.signal,
      });
    };
    let res: Response;
    try {
      res = await send(this.tokens ? await this.tokens.accessToken() : null);
      if (res.status === 401 && this.tokens && (await this.tokens.renew())) {
        res = await send(await this.tokens.accessToken());
      }
    } catch (e) {
      if (e instanceof ApiError || (e as Error).name === 'AbortError') throw e;
      throw new ApiError(0, 'unavailable', 'The server cannot be reached. Check your connection.');
    }
    if (!res.ok) throw await problemOf(res);
    if (res.status === 204 || res.headers.get('Content-Length') === '0') return undefined as Answer<Op<P, M>>;
    return (await res.json()) as Answer<Op<P, M>>;
  }

  // Public routes (no token).
  register = (username: string, password: string) =>
    this.call('post', '/v1/auth/register', { body: { username, password } });
  login = (username: string, password: string, device_id?: string) =>
    this.call('post', '/v1/auth/login', { body: { username, password, device_id } });
  refresh = (refresh_token: string) => this.call('post', '/v1/auth/refresh', { body: { refresh_token } });

  logout = (refresh_token?: string) => this.call('post', '/v1/auth/logout', { body: { refresh_token } });
  me = () => this.call('get', '/v1/users/me', {});
  user = (id: string) => this.call('get', '/v1/users/{id}', { path: { id } });
  findUser = (username: string) => this.call('get', '/v1/users', { query: { username } });
  wsTicket = () => this.call('post', '/v1/ws/tickets', {});

  requestContact = (user_id: string) => this.call('post', '/v1/contacts/requests', { body: { user_id } });
  contactRequests = (direction: 'incoming' | 'outgoing') =>
    this.call('get', '/v1/contacts/requests', { query: { direction } });
  acceptRequest = (id: string) => this.call('post', '/v1/contacts/requests/{id}/accept', { path: { id } });
  rejectRequest = (id: string) => this.call('post', '/v1/contacts/requests/{id}/reject', { path: { id } });
  contacts = () => this.call('get', '/v1/contacts', {});
  removeContact = (user_id: string) => this.call('delete', '/v1/contacts/{user_id}', { path: { user_id } });
  block = (user_id: string) => this.call('post', '/v1/blocks', { body: { user_id } });
  unblock = (user_id: string) => this.call('delete', '/v1/blocks/{user_id}', { path: { user_id } });

  conversations = () => this.call('get', '/v1/conversations', {});
  conversation = (id: string) => this.call('get', '/v1/conversations/{id}', { path: { id } });
  openDirect = (peer_id: string) =>
    this.call('post', '/v1/conversations', { body: { type: 'direct', peer_id } });
  createGroup = (title: string, member_ids: string[]) =>
    this.call('post', '/v1/conversations', { body: { type: 'group', title, member_ids } });
  rename = (id: string, title: string) => this.call('patch', '/v1/conversations/{id}', { path: { id }, body: { title } });
  addMembers = (id: string, user_ids: string[]) =>
    this.call('post', '/v1/conversations/{id}/members', { path: { id }, body: { user_ids } });
  removeMember = (id: string, user_id: string) =>
    this.call('delete', '/v1/conversations/{id}/members/{user_id}', { path: { id, user_id } });

  messages = (id: string, q: { after_seq?: number; before_seq?: number; limit?: number }) =>
    this.call('get', '/v1/conversations/{id}/messages', { path: { id }, query: q });
  send = (id: string, body: SendBody) =>
    this.call('post', '/v1/conversations/{id}/messages', { path: { id }, body });
  markRead = (id: string, seq: number) =>
    this.call('post', '/v1/conversations/{id}/read', { path: { id }, body: { seq } });
  revoke = (id: string) => this.call('post', '/v1/messages/{id}/revoke', { path: { id } });

  createFile = (filename: string, content_type: string, size: number) =>
    this.call('post', '/v1/files', { body: { filename, content_type, size } });
  file = (id: string) => this.call('get', '/v1/files/{id}', { path: { id } });
  presence = (user_ids: string[]) => this.call('get', '/v1/presence', { query: { user_ids } });
  iceServers = () => this.call('get', '/v1/calls/ice-servers', {});
}
