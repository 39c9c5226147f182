import { Auth } from './Auth';
import { CallLayer } from './Call';
import { Chat } from './Chat';
import { Sidebar } from './Sidebar';
import { useStore } from './use-store';

function Toasts() {
  const s = useStore();
  return (
    <div class="toasts" aria-live="assertive">
      {s.toasts.map((t) => (
        <div key={t.id} class={`toast ${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <span class="grow">{t.text}</span>
          <button class="link" aria-label="Dismiss" onClick={() => s.dismiss(t.id)}>×</button>
        </div>
      ))}
    </div>
  );
}

export function App() {
  const s = useStore();
  if (s.phase === 'boot') return <main class="splash" aria-busy="true">Parley…</main>;
  if (s.phase === 'signed-out') return (<><Auth /><Toasts /></>);
  const open = s.openId ? s.conversations.get(s.openId) : undefined;
  return (
    <div class={`shell ${open ? 'has-chat' : ''}`}>
      <Sidebar />
      {open ? <Chat conv={open} /> : (
        <section class="chat placeholder"><p class="muted">Pick a conversation, or add a contact and start one.</p></section>
      )}
      <CallLayer />
      <Toasts />
    </div>
  );
}
