// What the browser tests share: a kehu server on a fresh SQLite database
// with the users a test file needs, Debian's headless Chromium, and a check
// that a page fits its viewport (with a screenshot in e2e/artifacts).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const bin = process.env.KEHU_BIN
  || join(process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'kehu-target'), 'debug', 'kehu');

/// Starts kehu with `users` ([login, role, team?, password]), after the
/// kehu commands of `setup` (argument lists), and a browser; returns
/// { base, browser, stop }.
export async function startKehu(users, setup = []) {
  const dir = mkdtempSync(join(tmpdir(), 'kehu-e2e-'));
  const env = { ...process.env, KEHU_DATABASE_URL: `sqlite://${dir}/kehu.db` };
  const kehu = (args, input) => {
    const r = spawnSync(bin, args, { env, input, encoding: 'utf8' });
    assert.equal(r.status, 0, `kehu ${args.join(' ')} failed: ${r.stderr}`);
  };
  kehu(['migrate']);
  for (const args of setup) kehu(args);
  for (const [login, role, team, password] of users) {
    const teamArgs = team ? ['--team', team] : [];
    kehu(['user', 'add', login, '--role', role, ...teamArgs, '--password-stdin'], `${password}\n`);
  }
  const server = spawn(bin, ['serve', '--bind', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('kehu did not start within 60 s')), 60_000);
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
    server.on('exit', (code) => reject(new Error(`kehu exited with ${code}`)));
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const stop = async () => {
    await browser.close();
    server.kill();
  };
  return { base, browser, stop };
}

/// Fails when the page is wider than its viewport; keeps a screenshot.
export async function noOverflow(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  }));
  assert.ok(scroll <= inner, `${name}: page is ${scroll}px wide in a ${inner}px viewport`);
}
