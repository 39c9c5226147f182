import { useState } from 'preact/hooks';
import type { Conversation } from '../api/client';
import { Icon } from './icons';
import { useStore } from './use-store';

function preview(s: ReturnType<typeof useStore>, c: Conversation): string {
  const m = c.last_message;
  if (!m) return c.type === 'group' ? `${c.members_count} members` : 'No messages yet';
  if (m.status !== 'normal') return 'Message recalled';
  const who = m.sender_id === s.me?.id ? 'You: ' : c.type === 'group' ? `${s.username(m.sender_id) || '…'}: ` : '';
  const body = m.type === 'text' ? m.text ?? '' : `[${m.type}] ${m.file?.filename ?? ''}`;
  return who + body;
}

function time(iso?: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  const now = new Date();
  return d.toDateString() === now.toDateString()
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

function NewGroup({ onDone }: { onDone: () => void }) {
  const s = useStore();
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form class="card stack" onSubmit={async (e) => {
      e.preventDefault();
      setBusy(true);
      const ok = await s.createGroup(title, members);
      setBusy(false);
      if (ok) onDone();
    }}>
      <label>Group title
        <input data-testid="group-title" required maxLength={64} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <label>Members <span class="muted small">(usernames, comma-separated)</span>
        <input data-testid="group-members" placeholder="alice, bob" value={members} onInput={(e) => setMembers(e.currentTarget.value)} />
      </label>
      <div class="row">
        <button data-testid="group-create" class="primary" type="submit" disabled={busy}>Create group</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}

export function Sidebar() {
  const s = useStore();
  const [adding, setAdding] = useState('');
  const [grouping, setGrouping] = useState(false);
  const convs = s.sortedConversations();
  return (
    <nav class="sidebar" aria-label="Conversations and contacts">
      <header class="me">
        <span class={`conn conn-${s.connection}`} title={`connection: ${s.connection}`} aria-label={`connection ${s.connection}`} />
        <strong data-testid="me-username" class="grow">{s.me?.username}</strong>
        <button data-testid="logout" onClick={() => void s.logout()}>Sign out</button>
      </header>
      {s.connection !== 'open' && s.phase === 'signed-in' && (
        <p class="banner" role="status">{s.connectionNote || (s.connection === 'connecting' ? 'Connecting…' : 'Offline: messages are queued and sent when back online.')}</p>
      )}

      <section aria-labelledby="h-chats">
        <div class="section-head">
          <h2 id="h-chats">Chats</h2>
          <button data-testid="group-new" aria-expanded={grouping} onClick={() => setGrouping(!grouping)}><Icon.plus /> Group</button>
        </div>
        {grouping && <NewGroup onDone={() => setGrouping(false)} />}
        <ul class="list" role="list">
          {convs.map((c) => {
            const title = s.title(c);
            const unread = c.unread_count;
            const peer = s.peerOf(c.id);
            return (
              <li key={c.id}>
                <button data-testid="conv-item" data-conversation-id={c.id} data-title={title}
                  class={`conv ${s.openId === c.id ? 'active' : ''}`} aria-current={s.openId === c.id ? 'true' : undefined}
                  onClick={() => void s.open(c.id)}>
                  <span class="avatar" aria-hidden="true">{c.type === 'group' ? <Icon.users /> : (title[0] ?? '?').toUpperCase()}
                    {peer && <span class={`dot ${s.presence.get(peer) ? 'on' : ''}`} />}</span>
                  <span class="conv-main">
                    <span class="conv-top"><span class="conv-title">{title || '…'}</span><time class="muted small">{time(c.last_message?.created_at ?? c.updated_at)}</time></span>
                    <span class="conv-bottom"><span class="muted ellipsis">{preview(s, c)}</span>
                      {unread > 0 && <span data-testid="conv-unread" class="badge" aria-label={`${unread} unread`}>{unread}</span>}</span>
                  </span>
                </button>
              </li>
            );
          })}
          {convs.length === 0 && <li class="muted empty">No conversations yet: add a contact, then chat.</li>}
        </ul>
      </section>

      {s.incoming.length > 0 && (
        <section aria-labelledby="h-req">
          <h2 id="h-req">Contact requests</h2>
          <ul class="list" role="list">
            {s.incoming.map((r) => {
              const name = s.username(r.from_user_id);
              return (
                <li key={r.id} data-testid="request-item" data-username={name} class="row item">
                  <span class="grow"><strong>{name || '…'}</strong> wants to be your contact</span>
                  <button data-testid="request-accept" class="primary" onClick={() => void s.answerRequest(r, true)}>Accept</button>
                  <button data-testid="request-reject" onClick={() => void s.answerRequest(r, false)}>Reject</button>
                </li>
              );
            })}
          </ul>
        </section>
      )}

      <section aria-labelledby="h-contacts">
        <h2 id="h-contacts">Contacts</h2>
        <form class="row" onSubmit={async (e) => {
          e.preventDefault();
          if (await s.addContact(adding)) setAdding('');
        }}>
          <label class="sr-only" for="add-contact">Username to add</label>
          <input id="add-contact" data-testid="contact-add-username" class="grow" placeholder="Add by username" autocapitalize="none"
            value={adding} onInput={(e) => setAdding(e.currentTarget.value)} />
          <button data-testid="contact-add-submit" type="submit">Add</button>
        </form>
        <ul class="list" role="list">
          {s.contacts.map((c) => {
            const online = s.presence.get(c.user.id) ?? false;
            return (
              <li key={c.user.id} data-testid="contact-item" data-username={c.user.username} class="row item">
                <span data-testid="presence" data-online={online ? 'true' : 'false'} class={`dot ${online ? 'on' : ''}`}
                  role="img" aria-label={online ? 'online' : 'offline'} />
                <span class="grow ellipsis">{c.user.display_name || c.user.username} <span class="muted small">@{c.user.username}</span></span>
                <button data-testid="contact-chat" class="primary" onClick={() => void s.chatWith(c.user.id)}>Chat</button>
                <details class="menu">
                  <summary aria-label={`More for ${c.user.username}`}>⋯</summary>
                  <div class="menu-body">
                    <button onClick={() => confirm(`Remove ${c.user.username} from your contacts?`) && void s.removeContact(c.user.id)}>Remove</button>
                    <button class="danger" onClick={() => confirm(`Block ${c.user.username}? They can no longer message you.`) && void s.block(c.user.id)}>Block</button>
                  </div>
                </details>
              </li>
            );
          })}
          {s.contacts.length === 0 && <li class="muted empty">No contacts yet.</li>}
        </ul>
      </section>
    </nav>
  );
}
