// Every data-testid of the contract (shared/web-testids.md, mirrored here) is in the client's views.
// The browser tests drive most of them for real; this catches one that is renamed or dropped.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';

export const CONTRACT = [
  'auth-username', 'auth-password', 'auth-register', 'auth-login', 'auth-error', 'me-username', 'logout',
  'contact-add-username', 'contact-add-submit', 'request-item', 'request-accept', 'request-reject', 'contact-item',
  'contact-chat', 'presence', 'group-new', 'group-title', 'group-members', 'group-create', 'conv-item', 'conv-unread',
  'message-list', 'message-item', 'message-text', 'message-image', 'message-file', 'message-revoke', 'message-read',
  'composer-input', 'composer-send', 'composer-file', 'typing-indicator', 'call-start', 'call-incoming', 'call-accept',
  'call-reject', 'call-active', 'call-hangup',
];

const ui = resolve(import.meta.dirname, '../../src/ui');
const views = readdirSync(ui).filter((f) => f.endsWith('.tsx')).map((f) => readFileSync(resolve(ui, f), 'utf8')).join('\n');

test('every contract testid is exposed by a view', () => {
  for (const id of CONTRACT) expect(views, id).toContain(`data-testid="${id}"`);
});

test('the attributes the contract names are set', () => {
  for (const attr of ['data-username', 'data-online', 'data-conversation-id', 'data-title', 'data-seq', 'data-sender', 'data-status', 'data-state']) {
    expect(views, attr).toContain(attr + '=');
  }
});

// shared/ lies beside the repository (developers and CI); compare with it when it is there.
const shared = resolve(import.meta.dirname, '../../../../shared/web-testids.md');
test.skipIf(!existsSync(shared))('the mirror matches shared/web-testids.md', () => {
  const md = readFileSync(shared, 'utf8');
  const ids = new Set<string>();
  for (const line of md.split('\n')) {
    if (!line.startsWith('|')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([a-z-]+)`/g)) ids.add(m[1]);
  }
  for (const line of md.split('\n')) for (const m of line.matchAll(/contains `([a-z-]+)`, `([a-z-]+)`/g)) (ids.add(m[1]), ids.add(m[2]));
  expect([...ids].sort()).toEqual([...CONTRACT].sort());
});
