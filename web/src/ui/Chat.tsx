import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Conversation, FileInfo, Message } from '../api/client';
import type { PendingSend } from '../sync/outbox';
import { Icon } from './icons';
import { useStore } from './use-store';

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function Media({ type, file }: { type: Message['type']; file: FileInfo }) {
  const s = useStore();
  const links = s.fileLinks(file.id);
  if (type === 'image') {
    const src = links?.thumbnail ?? links?.download;
    return src ? (
      <a href={links?.download ?? src} target="_blank" rel="noopener noreferrer" class="image-link" aria-label={`Open ${file.filename}`}>
        <img data-testid="message-image" src={src} alt={file.filename} loading="lazy" />
      </a>
    ) : (
      <span class="image-placeholder" aria-label="loading image" />
    );
  }
  return (
    <div class="attachment">
      {links?.download && type === 'audio' && <audio controls preload="none" src={links.download} />}
      {links?.download && type === 'video' && <video controls preload="metadata" src={links.download} />}
      <a data-testid="message-file" href={links?.download ?? '#'} download={file.filename} target="_blank" rel="noopener noreferrer"
        aria-disabled={!links?.download} onClick={(e) => !links?.download && e.preventDefault()}>
        <Icon.clip /> {file.filename} <span class="muted small">{size(file.size)}</span>
      </a>
    </div>
  );
}

function Body({ m }: { m: Pick<Message, 'type' | 'text' | 'file'> }) {
  if (m.type === 'text' || m.type === 'system' || m.type === 'custom') {
    return <p data-testid="message-text" class="text">{m.text ?? ''}</p>;
  }
  return (
    <>
      {m.file && <Media type={m.type} file={m.file} />}
      {m.text && <p data-testid="message-text" class="text">{m.text}</p>}
    </>
  );
}

function ReadMark({ conv, seq }: { conv: Conversation; seq: number }) {
  const s = useStore();
  const n = s.readBy(conv.id, seq);
  if (n === 0) return null;
  return conv.type === 'direct'
    ? <span data-testid="message-read" class="read" title="read"><Icon.check />Read</span>
    : <span data-testid="message-read" class="read">read by {n}</span>;
}

function MessageRow({ conv, m }: { conv: Conversation; m: Message }) {
  const s = useStore();
  const mine = m.sender_id === s.me?.id;
  const revoked = m.status !== 'normal';
  const sender = mine ? s.me!.username : s.username(m.sender_id);
  return (
    <li data-testid="message-item" data-seq={m.seq} data-sender={sender} data-status={revoked ? 'revoked' : 'normal'}
      data-state={mine ? 'sent' : undefined} class={`msg ${mine ? 'mine' : ''} ${revoked ? 'revoked' : ''}`}>
      {!mine && conv.type === 'group' && <span class="sender">{sender || '…'}</span>}
      <div class="bubble">
        {revoked ? <p class="text muted"><em>{mine ? 'You recalled a message' : 'This message was recalled'}</em></p> : <Body m={m} />}
        <span class="meta">
          <time dateTime={m.created_at}>{clock(m.created_at)}</time>
          {mine && !revoked && <ReadMark conv={conv} seq={m.seq} />}
          {mine && !revoked && (
            <button data-testid="message-revoke" class="link revoke" onClick={() => void s.revoke(m)} aria-label="Recall this message">Recall</button>
          )}
        </span>
      </div>
    </li>
  );
}

function PendingRow({ p }: { p: PendingSend }) {
  const s = useStore();
  return (
    <li data-testid="message-item" data-sender={s.me?.username} data-status="normal" data-state={p.state} class="msg mine pending">
      <div class="bubble">
        <Body m={p} />
        <span class="meta">
          {p.state === 'pending' ? <span class="muted">Sending…</span> : (
            <>
              <span class="error" role="alert">{p.error || 'Not sent'}</span>
              <button class="link" onClick={() => s.retrySend(p.client_msg_id)}>Retry</button>
              <button class="link" onClick={() => s.discard(p.client_msg_id)}>Discard</button>
            </>
          )}
        </span>
      </div>
    </li>
  );
}

function GroupPanel({ conv, onClose }: { conv: Conversation; onClose: () => void }) {
  const s = useStore();
  const [title, setTitle] = useState(conv.title);
  const [adding, setAdding] = useState('');
  const members = s.members.get(conv.id) ?? [];
  const manager = conv.role === 'owner' || conv.role === 'admin';
  return (
    <aside class="panel" aria-label="Group settings">
      <div class="section-head"><h2>Group</h2><button onClick={onClose}>Close</button></div>
      {manager && (
        <form class="row" onSubmit={(e) => { e.preventDefault(); void s.rename(conv.id, title); }}>
          <label class="sr-only" for="rename">Title</label>
          <input id="rename" data-testid="group-rename-title" class="grow" maxLength={64} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          <button data-testid="group-rename" type="submit">Rename</button>
        </form>
      )}
      {manager && (
        <form class="row" onSubmit={async (e) => { e.preventDefault(); if (await s.addMembers(conv.id, adding)) setAdding(''); }}>
          <label class="sr-only" for="add-members">Usernames to add</label>
          <input id="add-members" data-testid="group-add-members" class="grow" placeholder="Add usernames, comma-separated" value={adding}
            onInput={(e) => setAdding(e.currentTarget.value)} />
          <button data-testid="group-add" type="submit">Add</button>
        </form>
      )}
      <h3>{members.length} members</h3>
      <ul class="list" role="list">
        {members.map((m) => (
          <li key={m.user_id} class="row item" data-testid="group-member" data-username={s.username(m.user_id)}>
            <span class="grow">{s.username(m.user_id) || '…'} {m.user_id === s.me?.id && <span class="muted">(you)</span>}</span>
            <span class="muted small">{m.role}</span>
            {manager && m.user_id !== s.me?.id && m.role !== 'owner' && (
              <button data-testid="group-remove-member" onClick={() => void s.removeMember(conv.id, m.user_id)}>Remove</button>
            )}
          </li>
        ))}
      </ul>
      <button data-testid="group-leave" class="danger" onClick={() => confirm(`Leave ${conv.title}?`) && void s.leave(conv.id)}>Leave group</button>
    </aside>
  );
}

/** Unsent text per conversation, kept while switching between them. */
const drafts = new Map<string, string>();

/** Keyed by conversation: each gets its own instance, its state starting from its draft. */
function Composer({ conv }: { conv: Conversation }) {
  const s = useStore();
  const [text, setText] = useState(() => drafts.get(conv.id) ?? '');
  const input = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
  }, []);
  const update = (t: string) => {
    setText(t);
    if (t) drafts.set(conv.id, t);
    else drafts.delete(conv.id);
  };
  const send = () => {
    if (!text.trim()) return;
    s.sendText(conv.id, text);
    update('');
    input.current?.focus();
  };
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <label class="icon-button" title="Attach a file" aria-label="Attach an image or file">
        <Icon.clip />
        <input ref={fileInput} data-testid="composer-file" type="file" multiple class="file-input"
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = '';
            if (files.length) void s.sendFiles(conv.id, files);
          }} />
      </label>
      <label class="sr-only" for="composer">Message</label>
      <textarea id="composer" ref={input} data-testid="composer-input" rows={1} maxLength={4000} placeholder="Write a message"
        value={text}
        onInput={(e) => { update(e.currentTarget.value); s.typingInput(conv.id); }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }} />
      <button data-testid="composer-send" type="submit" class="primary icon-button" aria-label="Send"><Icon.send /></button>
    </form>
  );
}

export function Chat({ conv }: { conv: Conversation }) {
  const s = useStore();
  const [panel, setPanel] = useState(false);
  const list = useRef<HTMLOListElement>(null);
  const atBottom = useRef(true);
  const anchor = useRef<{ height: number; top: number } | null>(null);
  const tl = s.timelines.get(conv.id);
  const messages = tl?.messages() ?? [];
  const pending = s.pendingFor(conv.id);
  const uploads = s.uploads.filter((u) => u.conversation_id === conv.id);
  const typers = s.typers(conv.id).map((id) => s.username(id) || 'Someone');
  const peer = s.peerOf(conv.id);
  const title = s.title(conv);

  useEffect(() => {
    atBottom.current = true;
    setPanel(false);
  }, [conv.id]);

  // Keep the view at the bottom as messages arrive, and in place when older ones load above.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (anchor.current) {
      el.scrollTop = el.scrollHeight - anchor.current.height + anchor.current.top;
      anchor.current = null;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  });

  const older = () => {
    const el = list.current;
    if (!el || !tl?.hasOlder || s.loadingOlder) return;
    anchor.current = { height: el.scrollHeight, top: el.scrollTop };
    void s.loadOlder(conv.id);
  };

  return (
    <section class="chat" aria-label={`Conversation ${title}`}>
      <header class="chat-head">
        <button class="back icon-button" aria-label="Back to conversations" onClick={() => void s.open(null)}><Icon.back /></button>
        <div class="grow">
          <h2 class="chat-title">{title || '…'}</h2>
          <span class="muted small">
            {conv.type === 'group' ? `${conv.members_count} members` : peer ? (s.presence.get(peer) ? 'online' : 'offline') : ''}
          </span>
        </div>
        {conv.type === 'direct' && peer && (
          <>
            <button data-testid="call-start-audio" class="icon-button" aria-label="Voice call" title="Voice call"
              onClick={() => s.calls.start(peer, conv.id, false)}><Icon.phone /></button>
            <button data-testid="call-start" class="icon-button" aria-label="Video call" title="Video call"
              onClick={() => s.calls.start(peer, conv.id, true)}><Icon.video /></button>
          </>
        )}
        {conv.type === 'group' && (
          <button data-testid="group-settings" aria-expanded={panel} onClick={() => setPanel(!panel)}><Icon.users /> Members</button>
        )}
      </header>
      <div class="chat-body">
        <ol data-testid="message-list" class="messages" ref={list} aria-live="polite" aria-label="Messages" tabIndex={0}
          onScroll={(e) => {
            const el = e.currentTarget;
            atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
            if (el.scrollTop < 80) older();
          }}>
          {tl?.hasOlder && tl.loaded && (
            <li class="older"><button class="link" onClick={older} disabled={s.loadingOlder}>{s.loadingOlder ? 'Loading…' : 'Load older messages'}</button></li>
          )}
          {messages.map((m) => <MessageRow key={m.seq} conv={conv} m={m} />)}
          {pending.map((p) => <PendingRow key={p.client_msg_id} p={p} />)}
          {uploads.map((u) => (
            <li key={u.id} class="msg mine upload">
              <div class="bubble">
                <span class="ellipsis">{u.filename}</span>
                <progress data-testid="upload-progress" max={1} value={u.state === 'uploading' ? u.progress : undefined}
                  aria-label={`Uploading ${u.filename}`} />
                <span class="meta">
                  {u.state === 'uploading' && `${Math.round(u.progress * 100)}%`}
                  {u.state === 'processing' && 'Processing…'}
                  {u.state === 'failed' && <><span class="error">{u.error}</span><button class="link" onClick={() => s.dropUpload(u)}>Dismiss</button></>}
                </span>
              </div>
            </li>
          ))}
          {tl?.loaded && messages.length === 0 && pending.length === 0 && <li class="muted empty">No messages yet. Say hello!</li>}
        </ol>
        {panel && conv.type === 'group' && <GroupPanel conv={conv} onClose={() => setPanel(false)} />}
      </div>
      <div class="typing" aria-live="polite">
        {typers.length > 0 && <span data-testid="typing-indicator">{typers.join(', ')} {typers.length > 1 ? 'are' : 'is'} typing…</span>}
      </div>
      <Composer key={conv.id} conv={conv} />
    </section>
  );
}
