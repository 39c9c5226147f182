import { useEffect, useRef } from 'preact/hooks';
import { Icon } from './icons';
import { useStore } from './use-store';

function Video({ stream, muted, class: cls, label }: { stream: MediaStream | null; muted: boolean; class: string; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  });
  return <video ref={ref} class={cls} autoplay playsInline muted={muted} aria-label={label} />;
}

/** Incoming ring, outgoing ring and the call itself. */
export function CallLayer() {
  const s = useStore();
  const c = s.calls.call;
  if (!c) return null;
  const name = s.username(c.peerId) || 'Someone';
  if (c.phase === 'ringing-in') {
    return (
      <div data-testid="call-incoming" class="call-ring" role="alertdialog" aria-label={`Incoming call from ${name}`}>
        <span class="grow"><strong>{name}</strong> is calling…</span>
        <button data-testid="call-accept" class="primary" onClick={() => s.calls.accept()} autoFocus><Icon.video /> Accept</button>
        <button data-testid="call-reject" class="danger" onClick={() => s.calls.reject()}>Decline</button>
      </div>
    );
  }
  const status = c.phase === 'ringing-out' ? `Calling ${name}…`
    : c.phase === 'connecting' && !c.everConnected ? 'Connecting…'
    : c.phase === 'ended' ? 'Call ended'
    : c.connectionState === 'connected' ? `In call with ${name}` : `Reconnecting (${c.connectionState})…`;
  const body = (
    <>
      <div class="call-videos">
        <Video stream={c.remote} muted={false} class="remote" label={`${name}'s video`} />
        {c.video && <Video stream={c.local} muted={true} class="local" label="Your video" />}
      </div>
      <div class="call-bar">
        <span class="grow" role="status">{status}</span>
        <button onClick={() => s.calls.toggleMute()} aria-pressed={c.muted}>{c.muted ? 'Unmute' : 'Mute'}</button>
        <button data-testid="call-hangup" class="danger" onClick={() => s.calls.hangup()} disabled={c.phase === 'ended'}>Hang up</button>
      </div>
    </>
  );
  return c.everConnected ? (
    <div data-testid="call-active" data-state={c.connectionState} class="call" role="dialog" aria-label={`Call with ${name}`}>{body}</div>
  ) : (
    <div class="call" data-testid="call-pending" role="dialog" aria-label={`Call with ${name}`}>{body}</div>
  );
}
