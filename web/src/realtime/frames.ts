// WebSocket frames of docs/protocol.md (the AsyncAPI part of the contract). Message, request and
// conversation payloads are the OpenAPI schemas; the frames' own shapes are written out here.
import type { ContactRequest, Conversation, FileInfo, Message } from '../api/client';

export interface Frame {
  type: string;
  id?: string;
  data?: unknown;
}

export interface Hello {
  session_id: string;
  user_id: string;
  heartbeat_interval_s: number;
}

export interface CallSignal {
  kind?: string;
  call_id: string;
  from_user_id?: string;
  conversation_id?: string;
  to_user_id?: string;
  sdp?: string;
  candidate?: RTCIceCandidateInit;
}

/** Server pushes the client understands; any other type is ignored. */
export type Push =
  | { type: 'message'; data: { message: Message } }
  | { type: 'message.revoked'; data: { message: Message } }
  | { type: 'message.erased'; data: { conversation_id: string; sender_id: string; up_to_seq: number } }
  | { type: 'read'; data: { conversation_id: string; user_id: string; seq: number } }
  | { type: 'typing'; data: { conversation_id: string; user_id: string; state: 'start' | 'stop' } }
  | { type: 'presence'; data: { user_id: string; online: boolean } }
  | { type: 'contact.request'; data: { request: ContactRequest } }
  | { type: 'contact.accepted'; data: { request: ContactRequest } }
  | { type: 'contact.removed'; data: Record<string, unknown> }
  | { type: 'conversation.updated'; data: { conversation: Conversation } }
  | { type: 'member.added' | 'member.removed'; data: { conversation_id: string; user_ids: string[] } }
  | { type: 'file.ready' | 'file.rejected'; data: { file: FileInfo } }
  | { type: 'session.revoked'; data: { reason?: string } }
  | { type: `call.${string}`; data: CallSignal };

/** Close codes of the protocol. */
export const Close = {
  Normal: 1000,
  Abnormal: 1006,
  Policy: 1008,
  TooBig: 1009,
  Restart: 1012,
  Unauthenticated: 4001,
  Banned: 4003,
  RateLimited: 4008,
  SlowConsumer: 4009,
} as const;
