// The browser client against a private platform: two browser contexts (two people) sign up, become
// contacts, chat both ways (typing, read receipts, unread counts), survive a reload, send while
// offline, share an image, recall a message, make a group and a video call. Screenshots of the main
// screens go to docs/screenshots/.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startPlatform, type Running } from './platform';
import { tinyPNG } from './png';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = resolve(import.meta.dirname, '../../../docs/screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 780 };
const PASSWORD = 'correct horse 42';

let platform: Running;
let browser: Browser;
const errors: string[] = [];

interface Person {
  name: string;
  ctx: BrowserContext;
  page: Page;
}
let alice: Person;
let bob: Person;

const tid = (page: Page, id: string) => page.getByTestId(id);

async function person(prefix: string): Promise<Person> {
  const name = `${prefix}_${Math.random().toString(36).slice(2, 8)}`;
  const ctx = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1, permissions: ['camera', 'microphone'] });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${name}: uncaught ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`${name}: request failed: ${r.method()} ${r.url().replace(/\?.*/, '')} ${r.failure()?.errorText}`));
  return { name, ctx, page };
}

async function shot(page: Page, name: string, size = DESKTOP) {
  await page.setViewportSize(size);
  await page.waitForTimeout(150);
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
  await page.setViewportSize(DESKTOP);
}

function message(page: Page, text: string) {
  return page.getByTestId('message-item').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
}

async function openChat(p: Person, title: string) {
  await p.page.locator(`[data-testid="conv-item"][data-title="${title}"]`).click();
  await expect.poll(() => p.page.getByRole('heading', { level: 2, name: title }).count()).toBe(1);
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const started = Date.now();
  platform = await startPlatform();
  console.log(`web: private platform ready at ${platform.url} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: false, // the flags below choose the new headless mode themselves
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    ],
  });
  alice = await person('alice');
  bob = await person('bob');
});

afterAll(async () => {
  await browser?.close();
  await platform?.stop();
});

describe.sequential('the web client', () => {
  test('sign-up screens, an error from the problem detail, then both register', async () => {
    const { page } = alice;
    await page.goto(platform.url + '/');
    await expect.poll(() => tid(page, 'auth-username').isVisible()).toBe(true);
    await shot(page, 'signin-desktop');
    await shot(page, 'signin-phone', PHONE);
    // A too-short password: the server's problem detail is shown.
    await tid(page, 'auth-username').fill(alice.name);
    await tid(page, 'auth-password').fill('short');
    await page.evaluate(() => document.querySelectorAll('input').forEach((i) => i.removeAttribute('minlength')));
    await tid(page, 'auth-register').click();
    await expect.poll(() => tid(page, 'auth-error').textContent()).toMatch(/password/i);
    errors.length = 0; // the 400 above is logged by the browser on purpose

    for (const p of [alice, bob]) {
      await p.page.goto(platform.url + '/');
      await tid(p.page, 'auth-username').fill(p.name);
      await tid(p.page, 'auth-password').fill(PASSWORD);
      await tid(p.page, 'auth-register').click();
      await expect.poll(() => tid(p.page, 'me-username').textContent()).toBe(p.name);
    }
  });

  test('a contact request by username, accepted; presence is live', async () => {
    await tid(alice.page, 'contact-add-username').fill(bob.name);
    await tid(alice.page, 'contact-add-submit').click();
    const req = bob.page.locator(`[data-testid="request-item"][data-username="${alice.name}"]`);
    await req.waitFor();
    await req.getByTestId('request-accept').click();
    for (const [p, other] of [[alice, bob], [bob, alice]] as const) {
      const item = p.page.locator(`[data-testid="contact-item"][data-username="${other.name}"]`);
      await item.waitFor();
      await expect.poll(() => item.getByTestId('presence').getAttribute('data-online'), { timeout: 15_000 }).toBe('true');
    }
  });

  test('chat both ways: unread count, typing, read receipt', async () => {
    await alice.page.locator(`[data-testid="contact-item"][data-username="${bob.name}"]`).getByTestId('contact-chat').click();
    await tid(alice.page, 'composer-input').fill('Hello Bob!');
    await tid(alice.page, 'composer-input').press('Enter');
    const sent = message(alice.page, 'Hello Bob!');
    await expect.poll(() => sent.getAttribute('data-state')).toBe('sent');

    const conv = bob.page.locator(`[data-testid="conv-item"][data-title="${alice.name}"]`);
    await expect.poll(() => conv.getByTestId('conv-unread').textContent()).toBe('1');
    await openChat(bob, alice.name);
    const got = message(bob.page, 'Hello Bob!');
    await got.waitFor();
    expect(await got.getAttribute('data-sender')).toBe(alice.name);
    await expect.poll(() => conv.getByTestId('conv-unread').count()).toBe(0);
    // Bob read it: Alice sees the receipt.
    await sent.getByTestId('message-read').waitFor();

    await tid(bob.page, 'composer-input').pressSequentially('Hi Alice', { delay: 20 });
    await tid(alice.page, 'typing-indicator').waitFor();
    await tid(bob.page, 'composer-send').click();
    await message(alice.page, 'Hi Alice').waitFor();
    await expect.poll(() => message(bob.page, 'Hi Alice').getAttribute('data-state')).toBe('sent');
    expect(await message(alice.page, 'Hi Alice').count()).toBe(1);
  });

  test('an image upload is seen by the other side', async () => {
    await tid(alice.page, 'composer-file').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: tinyPNG(64, 48) });
    for (const p of [bob, alice]) {
      const img = p.page.getByTestId('message-image').last();
      await img.waitFor({ timeout: 30_000 });
      await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth), { timeout: 15_000 }).toBeGreaterThan(0);
    }
    expect(await bob.page.locator('[data-testid="message-item"]:has([data-testid="message-image"])').getAttribute('data-sender')).toBe(alice.name);
  });

  test('a recall reaches the other side', async () => {
    await tid(alice.page, 'composer-input').fill('oops, wrong chat');
    await tid(alice.page, 'composer-send').click();
    const mine = message(alice.page, 'oops, wrong chat');
    await expect.poll(() => mine.getAttribute('data-state')).toBe('sent');
    const seq = await mine.getAttribute('data-seq');
    await message(bob.page, 'oops, wrong chat').waitFor();
    await mine.getByTestId('message-revoke').click();
    const theirs = bob.page.locator(`[data-testid="message-item"][data-seq="${seq}"]`);
    await expect.poll(() => theirs.getAttribute('data-status')).toBe('revoked');
    await expect.poll(() => alice.page.locator(`[data-testid="message-item"][data-seq="${seq}"]`).getAttribute('data-status')).toBe('revoked');
    expect(await message(bob.page, 'oops, wrong chat').count()).toBe(0);
  });

  test('a message written offline is queued, then sent once with its client_msg_id', async () => {
    await alice.ctx.setOffline(true);
    await expect.poll(() => alice.page.locator('.conn-open').count(), { timeout: 15_000 }).toBe(0);
    await tid(alice.page, 'composer-input').fill('written offline');
    await tid(alice.page, 'composer-input').press('Enter');
    const queued = message(alice.page, 'written offline');
    expect(await queued.getAttribute('data-state')).toBe('pending');
    await alice.ctx.setOffline(false);
    await expect.poll(() => queued.getAttribute('data-state'), { timeout: 45_000 }).toBe('sent');
    await message(bob.page, 'written offline').waitFor();
    expect(await message(bob.page, 'written offline').count()).toBe(1);
    expect(await message(alice.page, 'written offline').count()).toBe(1);
  });

  test('a reload keeps the session and the history', async () => {
    const before = await bob.page.getByTestId('message-item').count();
    await bob.page.reload();
    await expect.poll(() => tid(bob.page, 'me-username').textContent()).toBe(bob.name);
    await openChat(bob, alice.name);
    await message(bob.page, 'Hello Bob!').waitFor();
    await message(bob.page, 'written offline').waitFor();
    await expect.poll(() => bob.page.getByTestId('message-item').count()).toBe(before);
    // The screens, at desktop and phone width.
    await shot(bob.page, 'chat-desktop');
    await shot(bob.page, 'chat-phone', PHONE);
    await bob.page.setViewportSize(PHONE);
    await bob.page.getByRole('button', { name: 'Back to conversations' }).click();
    await shot(bob.page, 'conversations-phone', PHONE);
    await bob.page.setViewportSize(DESKTOP);
    await openChat(bob, alice.name);
  });

  test('a group: created with a member, seen by the member', async () => {
    const title = `Team ${alice.name.slice(-4)}`;
    await tid(alice.page, 'group-new').click();
    await tid(alice.page, 'group-title').fill(title);
    await tid(alice.page, 'group-members').fill(bob.name);
    await tid(alice.page, 'group-create').click();
    await expect.poll(() => alice.page.getByRole('heading', { level: 2, name: title }).count()).toBe(1);
    await tid(alice.page, 'composer-input').fill('Welcome to the group');
    await tid(alice.page, 'composer-input').press('Enter');
    const item = bob.page.locator(`[data-testid="conv-item"][data-title="${title}"]`);
    await item.waitFor({ timeout: 20_000 });
    await expect.poll(() => item.getByTestId('conv-unread').textContent()).toBe('1');
    // Newest activity first.
    expect(await bob.page.getByTestId('conv-item').first().getAttribute('data-title')).toBe(title);
    await openChat(bob, title);
    await message(bob.page, 'Welcome to the group').waitFor();
    await message(alice.page, 'Welcome to the group').getByTestId('message-read').filter({ hasText: 'read by 1' }).waitFor();
    await openChat(bob, alice.name);
    await openChat(alice, bob.name);
  });

  test('a video call reaches connected on both sides', async () => {
    await tid(alice.page, 'call-start').click();
    await tid(bob.page, 'call-incoming').waitFor({ timeout: 20_000 });
    await tid(bob.page, 'call-accept').click();
    for (const p of [alice, bob]) {
      await expect.poll(() => tid(p.page, 'call-active').getAttribute('data-state'), { timeout: 30_000 }).toBe('connected');
    }
    await shot(alice.page, 'call-desktop');
    await tid(alice.page, 'call-hangup').click();
    await expect.poll(() => tid(bob.page, 'call-active').count(), { timeout: 15_000 }).toBe(0);
  });

  test('sign out, and no console errors on the way', async () => {
    await tid(alice.page, 'logout').click();
    await tid(alice.page, 'auth-username').waitFor();
    await alice.page.reload();
    await tid(alice.page, 'auth-username').waitFor();
    expect(errors).toEqual([]);
  });

  test('sign in again with the keyboard alone: Tab between the fields, Enter submits', async () => {
    await tid(alice.page, 'auth-username').focus();
    await alice.page.keyboard.type(alice.name);
    await alice.page.keyboard.press('Tab');
    await expect.poll(() => alice.page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('auth-password');
    await alice.page.keyboard.type(PASSWORD);
    await alice.page.keyboard.press('Enter');
    await expect.poll(() => tid(alice.page, 'me-username').textContent()).toBe(alice.name);
    expect(errors).toEqual([]);
  });
});
