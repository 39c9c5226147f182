// 1:1 voice and video calls: WebRTC with the ICE servers of GET /v1/calls/ice-servers, signaled by
// the call.* frames (invite -> accept -> offer/answer/ice -> hangup; reject, timeout and busy end a
// call). The caller makes the offer once the callee accepted.
import type { ICEServer } from '../api/client';
import type { CallSignal } from '../realtime/frames';

export type CallPhase = 'ringing-out' | 'ringing-in' | 'connecting' | 'active' | 'ended';

export interface CallView {
  id: string;
  peerId: string;
  conversationId?: string;
  role: 'caller' | 'callee';
  video: boolean;
  phase: CallPhase;
  /** The RTCPeerConnection's connectionState ('new' before there is one). */
  connectionState: RTCPeerConnectionState;
  /** Became connected at least once (call-active stays shown through a reconnect). */
  everConnected: boolean;
  muted: boolean;
  local: MediaStream | null;
  remote: MediaStream | null;
  startedAt?: number;
}

export interface CallDeps {
  fire: (type: string, data: CallSignal, onError?: (e: Error) => void) => boolean;
  iceServers: () => Promise<ICEServer[]>;
  changed: () => void;
  notice: (text: string) => void;
  getUserMedia?: (c: MediaStreamConstraints) => Promise<MediaStream>;
}

const endReasons: Record<string, string> = {
  reject: 'The call was declined.',
  timeout: 'No answer.',
  busy: 'The other person is busy.',
  hangup: 'The call ended.',
};

export class Calls {
  call: CallView | null = null;
  private pc: RTCPeerConnection | null = null;
  private queued: RTCIceCandidateInit[] = [];
  private endTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private deps: CallDeps) {}

  private set(patch: Partial<CallView>) {
    if (!this.call) return;
    Object.assign(this.call, patch);
    this.deps.changed();
  }

  private signal(kind: string, extra: Partial<CallSignal> = {}) {
    const c = this.call;
    if (!c) return;
    this.deps.fire('call.' + kind, { call_id: c.id, to_user_id: c.peerId, ...extra }, (e) => {
      if (this.call?.id === c.id && kind !== 'hangup' && kind !== 'ice') this.finish(e.message || 'The call could not be placed.');
    });
  }

  start(peerId: string, conversationId: string, video: boolean): void {
    if (this.call && this.call.phase !== 'ended') {
      this.deps.notice('You are already in a call.');
      return;
    }
    this.reset();
    this.call = {
      id: crypto.randomUUID(), peerId, conversationId, role: 'caller', video, phase: 'ringing-out',
      connectionState: 'new', everConnected: false, muted: false, local: null, remote: null,
    };
    this.deps.changed();
    // Ask for the camera/microphone now: the permission prompt shows while it rings.
    void this.media(video);
    this.signal('invite', { conversation_id: conversationId });
  }

  accept(): void {
    const c = this.call;
    if (!c || c.phase !== 'ringing-in') return;
    this.set({ phase: 'connecting' });
    void this.media(true);
    this.signal('accept');
  }

  reject(): void {
    if (!this.call || this.call.phase !== 'ringing-in') return;
    this.signal('reject');
    this.finish('');
  }

  hangup(): void {
    if (!this.call || this.call.phase === 'ended') return;
    this.signal('hangup');
    this.finish('');
  }

  toggleMute(): void {
    const c = this.call;
    if (!c?.local) return;
    const muted = !c.muted;
    c.local.getAudioTracks().forEach((t) => (t.enabled = !muted));
    this.set({ muted });
  }

  /** A call.* push. */
  async onSignal(type: string, s: CallSignal, me: string): Promise<void> {
    const kind = type.slice('call.'.length);
    const c = this.call;
    if (kind === 'invite') {
      if (s.from_user_id === me) return; // my own invite seen by my other devices
      if (c && c.phase !== 'ended') return; // busy: the server answers the caller
      this.reset();
      this.call = {
        id: s.call_id, peerId: s.from_user_id ?? '', conversationId: s.conversation_id, role: 'callee', video: true,
        phase: 'ringing-in', connectionState: 'new', everConnected: false, muted: false, local: null, remote: null,
      };
      this.deps.changed();
      return;
    }
    if (!c || c.id !== s.call_id || c.phase === 'ended') return;
    try {
      switch (kind) {
        case 'accept':
          if (c.role === 'callee') {
            // Accepted on another of my devices.
            if (c.phase === 'ringing-in') this.finish('Answered on another device.');
            return;
          }
          this.set({ phase: 'connecting' });
          await this.offer();
          return;
        case 'offer':
          await this.answer(s.sdp ?? '');
          return;
        case 'answer':
          await this.peer().setRemoteDescription({ type: 'answer', sdp: s.sdp ?? '' });
          await this.flushCandidates();
          return;
        case 'ice':
          if (!s.candidate) return;
          if (this.pc?.remoteDescription) await this.pc.addIceCandidate(s.candidate);
          else this.queued.push(s.candidate);
          return;
        case 'reject':
          if (c.role === 'callee' && s.from_user_id === me) {
            this.finish('Declined on another device.');
            return;
          }
          this.finish(endReasons.reject);
          return;
        case 'hangup':
        case 'timeout':
        case 'busy':
          this.finish(endReasons[kind]);
          return;
      }
    } catch (e) {
      this.signal('hangup');
      this.finish('The call failed: ' + ((e as Error).message || 'WebRTC error'));
    }
  }

  private mediaPromise: Promise<MediaStream | null> | null = null;

  /** The camera/microphone stream, asked for once per call. */
  private media(video: boolean): Promise<MediaStream | null> {
    if (!this.mediaPromise) this.mediaPromise = this.getMedia(video);
    return this.mediaPromise;
  }

  private async getMedia(video: boolean): Promise<MediaStream | null> {
    const c = this.call;
    if (!c) return null;
    const gum = this.deps.getUserMedia ?? ((k) => navigator.mediaDevices.getUserMedia(k));
    for (const k of video ? [{ audio: true, video: true }, { audio: true }] : [{ audio: true }]) {
      try {
        const s = await gum(k);
        if (this.call !== c) {
          s.getTracks().forEach((t) => t.stop());
          return null;
        }
        this.set({ local: s, video: s.getVideoTracks().length > 0 });
        return s;
      } catch {
        /* try with less */
      }
    }
    this.deps.notice('No camera or microphone available: you will only receive.');
    return null;
  }

  private peerCache: Promise<RTCPeerConnection> | null = null;

  private peer(): RTCPeerConnection {
    if (!this.pc) throw new Error('no connection yet');
    return this.pc;
  }

  private async ensurePeer(): Promise<RTCPeerConnection> {
    if (!this.peerCache) this.peerCache = this.createPeer();
    return this.peerCache;
  }

  private async createPeer(): Promise<RTCPeerConnection> {
    const c = this.call!;
    let iceServers: RTCIceServer[] = [];
    try {
      iceServers = (await this.deps.iceServers()).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
    } catch {
      /* host candidates still work on one network */
    }
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    const remote = new MediaStream();
    this.set({ remote });
    pc.ontrack = (ev) => {
      remote.addTrack(ev.track);
      this.deps.changed();
    };
    pc.onicecandidate = (ev) => {
      if (ev.candidate) this.signal('ice', { candidate: ev.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc || !this.call) return;
      const st = pc.connectionState;
      const patch: Partial<CallView> = { connectionState: st };
      if (st === 'connected') {
        patch.phase = 'active';
        if (!this.call.everConnected) patch.startedAt = Date.now();
        patch.everConnected = true;
      }
      this.set(patch);
      if (st === 'failed') {
        this.signal('hangup');
        this.finish('The connection failed.');
      }
    };
    const local = await this.media(c.video);
    if (local) for (const t of local.getTracks()) pc.addTrack(t, local);
    if (!local || local.getAudioTracks().length === 0) pc.addTransceiver('audio', { direction: 'recvonly' });
    if (c.video && (!local || local.getVideoTracks().length === 0)) pc.addTransceiver('video', { direction: 'recvonly' });
    return pc;
  }

  private async offer() {
    const pc = await this.ensurePeer();
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.signal('offer', { sdp: offer.sdp });
  }

  private async answer(sdp: string) {
    if (this.call) this.call.video = this.call.video && /\nm=video /.test('\n' + sdp);
    const pc = await this.ensurePeer();
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await this.flushCandidates();
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.signal('answer', { sdp: answer.sdp });
  }

  private async flushCandidates() {
    const pc = this.pc;
    if (!pc) return;
    const q = this.queued;
    this.queued = [];
    for (const cand of q) await pc.addIceCandidate(cand).catch(() => {});
  }

  private finish(notice: string) {
    if (!this.call) return;
    this.teardown();
    this.set({ phase: 'ended' });
    if (notice) this.deps.notice(notice);
    this.endTimer = setTimeout(() => {
      if (this.call?.phase === 'ended') {
        this.call = null;
        this.deps.changed();
      }
    }, 1500);
  }

  private teardown() {
    this.pc?.close();
    this.pc = null;
    this.peerCache = null;
    this.mediaPromise = null;
    this.queued = [];
    this.call?.local?.getTracks().forEach((t) => t.stop());
  }

  private reset() {
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = null;
    this.teardown();
    this.call = null;
  }

  /** Sign-out: end any call. */
  close(): void {
    if (this.call && this.call.phase !== 'ended') this.signal('hangup');
    this.reset();
  }
}
