// The management dashboard and a customer's grade in Debian's headless
// Chromium, on the demo data (orders, tickets and the nightly recompute):
// every chart is drawn from its table, the filters keep what was chosen,
// the page fits a laptop and a phone, and a customer page explains the
// customer's grade dimension by dimension.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startKehu, noOverflow } from './support.mjs';

const PASSWORD = 'kehu-demo-2026';

let app;
let base;
let browser;

before(async () => {
  app = await startKehu([], [['demo', '--customers', '300']]);
  ({ base, browser } = app);
});

after(async () => {
  await app?.stop();
});

async function login(page) {
  await page.goto(`${base}/login`);
  await page.fill('#login-form input[name=login]', 'admin');
  await page.fill('#login-form input[name=password]', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

test('the dashboard draws every chart with its table, on a laptop and a phone', async () => {
  for (const [name, viewport] of [['laptop', { width: 1280, height: 900 }], ['phone', { width: 375, height: 740 }]]) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await login(page);
    await page.click('#nav-dashboard');
    await page.waitForURL(/\/dashboard/);
    const charts = await page.locator('.chart').count();
    assert.equal(charts, 6, 'months, grades, lifecycle, moves, pareto, clv');
    await page.waitForFunction(() => document.querySelectorAll('.chart svg').length === 6);
    assert.match(await page.textContent('#top20-share'), /^\d+(\.\d)?%$/);
    const graded = await page.locator('#report-grades tbody tr').count();
    assert.ok(graded >= 3, `the grade pyramid lists A, B and C: ${graded}`);
    assert.ok(await page.locator('#report-months tbody tr').count() > 0, 'months with sales');
    await noOverflow(page, `dashboard-${name}`);
    await context.close();
  }
});

test('filters narrow the dashboard and stay chosen', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await login(page);
  await page.goto(`${base}/dashboard`);
  const owners = await page.locator('#dashboard-filters select[name=owner] option').count();
  assert.ok(owners > 1, 'owners to choose from');
  const value = await page.locator('#dashboard-filters select[name=owner] option').nth(1).getAttribute('value');
  await page.selectOption('#dashboard-filters select[name=owner]', value);
  await page.click('#dashboard-filters button[type=submit]');
  await page.waitForURL(new RegExp(`owner=${value}`));
  assert.equal(await page.inputValue('#dashboard-filters select[name=owner]'), value);
  const href = await page.getAttribute('#report-months a.export-link', 'href');
  assert.ok(href.includes(`owner=${value}`), `the export keeps the filter: ${href}`);
  await context.close();
});

test('a customer page explains the grade and takes a manual one with its reason', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await login(page);
  await page.goto(`${base}/customers`);
  await page.locator('table.list tbody tr a').first().click();
  await page.waitForSelector('#customer-scores');
  assert.equal(await page.locator('#scores-parts tbody tr').count(), 5);
  await page.selectOption('#grade-override-form select[name=grade]', 'A');
  await page.fill('#grade-override-form input[name=reason]', '多年老客户，关系深厚');
  await page.click('#grade-override-form button[type=submit]');
  await page.waitForSelector('#scores-override-reason');
  assert.equal(await page.textContent('#scores-override-reason'), '多年老客户，关系深厚');
  assert.match(await page.textContent('#scores-grade'), /^A/);
  await context.close();
});
