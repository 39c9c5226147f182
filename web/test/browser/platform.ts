// Starts a private Parley platform for the browser tests (as e2e/main_test.go does): every address on
// a free port, its own data directory, Redis prefix and databases, so it never collides with a
// `make dev` on the default ports or with other test runs. PARLEY_WEB_GATEWAY=http://host:port
// uses a running platform instead (it must serve this web/dist).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface Running {
  url: string; // http://127.0.0.1:port (the gateway: API, WebSocket and the web client)
  logPath?: string;
  stop(): Promise<void>;
}

const root = resolve(import.meta.dirname, '../../..');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

async function ready(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) throw new Error(`the platform exited with ${child.exitCode}`);
    try {
      const r = await fetch(url + '/readyz', { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url}/readyz did not answer 200 within ${timeoutMs / 1000}s`);
}

export async function startPlatform(): Promise<Running> {
  const given = process.env.PARLEY_WEB_GATEWAY;
  if (given) {
    const url = given.replace(/\/$/, '');
    await ready(url, 60_000);
    return { url, stop: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'parley-web-'));
  const tag = dir.slice(-6).replace(/[^a-zA-Z0-9]/g, '').toLowerCase();
  const gw = await freePort();
  const logPath = join(dir, 'platform.log');
  const log = openSync(logPath, 'w');
  const child = spawn(join(root, 'bin/parley-platform'), [], {
    cwd: root,
    env: {
      ...process.env,
      GATEWAY_ADDR: `127.0.0.1:${gw}`,
      RANDOM_PORTS: 'true',
      DATA_DIR: join(dir, 'data'),
      REDIS_PREFIX: `parley-web-${tag}:`,
      DATABASE_URL: process.env.PARLEY_WEB_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/parley_web?sslmode=disable',
      KETO_DATABASE: 'parley_web_keto',
      WEB_DIR: join(root, 'web/dist'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', log, log],
    detached: true, // its own process group: stopped with its children
  });
  closeSync(log);
  const url = `http://127.0.0.1:${gw}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 45_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await ready(url, Number(process.env.PARLEY_WEB_START_TIMEOUT_S ?? 180) * 1000, child);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message} (platform log: ${logPath})`);
  }
  return { url, logPath, stop };
}
