// Drives the real kehu server in Debian's headless Chromium: log in, create a
// customer (first with an invalid mobile), find it by pinyin initials and by
// the last four digits of the phone, log an interaction, see it escaped on the
// timeline, check the pages at phone width for horizontal overflow,
// download the customer list as an admin, and flag and merge a duplicate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startKehu, noOverflow } from './support.mjs';

const LOGIN = 'e2e-agent';
const PASSWORD = 'e2e-password-123';

let app;
let base;
let browser;

before(async () => {
  app = await startKehu([[LOGIN, 'agent', '销售一部', PASSWORD], ['e2e-admin', 'admin', '', PASSWORD]]);
  ({ base, browser } = app);
});

after(async () => {
  await app?.stop();
});

async function login(page, password = PASSWORD, who = LOGIN) {
  await page.goto(`${base}/login`);
  await page.fill('#login-form input[name=login]', who);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
}

test('a wrong password keeps the user on the login page with an error', async () => {
  const page = await browser.newPage();
  await login(page, 'not-the-password');
  assert.match(new URL(page.url()).pathname, /^\/login/);
  assert.ok(await page.locator('.form-error').isVisible());
  await page.close();
});

test('log in, create a customer, find it, log an interaction, see it on the timeline', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await login(page);
  assert.equal(new URL(page.url()).pathname, '/customers');

  await page.click('#new-customer');
  await page.selectOption('#customer-form select[name=kind]', 'person');
  await page.fill('#customer-form input[name=name]', '欧阳娜娜');
  await page.fill('#customer-form input[name=mobile]', '12345');
  await page.click('#customer-form button[type=submit]');
  assert.ok(await page.locator('.field-error').first().isVisible(), 'an invalid mobile is reported');
  assert.equal(await page.inputValue('#customer-form input[name=name]'), '欧阳娜娜', 'typed values are kept');

  await page.fill('#customer-form input[name=mobile]', '13812345678');
  await page.fill('#customer-form input[name=email]', 'nana@example.com');
  await page.click('#customer-form button[type=submit]');
  await page.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
  assert.match(await page.textContent('h1'), /欧阳娜娜/);
  const customerUrl = page.url();

  for (const q of ['oynn', '5678', '娜娜']) {
    await page.goto(`${base}/customers`);
    await page.fill('#search-form input[name=q]', q);
    await page.click('#search-form button[type=submit]');
    const row = page.locator('tr.customer-row', { hasText: '欧阳娜娜' });
    assert.equal(await row.count(), 1, `search ${q} finds the customer`);
  }
  await page.click('tr.customer-row a.customer-link');
  assert.equal(page.url(), customerUrl);

  const body = '电话回访：客户对新品感兴趣 <b>not bold</b>';
  await page.selectOption('#interaction-form select[name=kind]', 'call');
  await page.fill('#interaction-form textarea[name=body]', body);
  await page.click('#interaction-form button[type=submit]');
  await page.waitForURL((u) => u.pathname === new URL(customerUrl).pathname);
  const item = page.locator('#timeline .timeline-item', { hasText: '<b>not bold</b>' });
  assert.equal(await item.count(), 1, 'the interaction is on the timeline as text');
  assert.equal(await page.locator('#timeline b').count(), 0, 'user text is escaped');
  const created = page.locator('#timeline .timeline-item.change').last();
  assert.match(await created.textContent(), /手机号: — → 13812345678/, 'the creation is on the timeline in words');

  // The English switch changes the interface language, and back.
  await page.click('header form[action="/lang"] button');
  assert.match(await page.textContent('header nav'), /Customers/);
  assert.match(await page.textContent('#timeline'), /Mobile: — → 13812345678/);
  await page.click('header form[action="/lang"] button');
  assert.match(await page.textContent('header nav'), /客户/);
  await context.close();
});

test('pages fit a 390-px-wide phone screen', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await login(page);
  await page.goto(`${base}/customers`);
  await noOverflow(page, 'customers-390');
  await page.click('tr.customer-row a.customer-link');
  await noOverflow(page, 'customer-390');
  await page.goto(`${base}/customers/new`);
  await noOverflow(page, 'customer-form-390');
  await context.close();
});

test('an organisation gets contacts with their buying role', async () => {
  const page = await browser.newPage();
  await login(page);
  await page.goto(`${base}/customers/new`);
  await page.selectOption('#customer-form select[name=kind]', 'organization');
  await page.fill('#customer-form input[name=name]', '杭州恒达贸易有限公司');
  await page.click('#customer-form button[type=submit]');
  await page.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
  await page.click('#contacts summary');
  await page.fill('#contact-form input[name=name]', '李总');
  await page.selectOption('#contact-form select[name=role]', 'decision_maker');
  await page.fill('#contact-form input[name=mobile]', '139 1234 5678');
  await page.click('#contact-form button[type=submit]');
  const row = page.locator('tr.contact-row', { hasText: '李总' });
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /关键人/);
  assert.match(await row.textContent(), /13912345678/);
  await page.close();
});

test('admin pages fit a phone screen too', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await login(page, PASSWORD, 'e2e-admin');
  for (const path of ['/admin/users', '/admin/fields', '/admin/recycle-bin', '/admin/audit', '/account']) {
    const r = await page.goto(`${base}${path}`);
    assert.equal(r.status(), 200, path);
    await noOverflow(page, `admin${path.replaceAll('/', '-')}-390`);
  }
  await context.close();
});

test('an admin downloads the sorted list as a workbook from the list page', async () => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, acceptDownloads: true,
  });
  const page = await context.newPage();
  await login(page, PASSWORD, 'e2e-admin');
  await page.goto(`${base}/customers?sort=name`);
  await noOverflow(page, 'customers-export-390');
  const link = page.locator('#export a[href*="format=xlsx"]');
  assert.match(await link.getAttribute('href'), /sort=name/, 'the link carries the sort');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(download.suggestedFilename(), /^kehu-customers-\d{4}-\d{2}-\d{2}\.xlsx$/);
  const bytes = readFileSync(await download.path());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'a workbook (zip) arrives');
  await context.close();
});

test('an agent without the export permission sees no export control', async () => {
  const page = await browser.newPage();
  await login(page);
  await page.goto(`${base}/customers`);
  assert.equal(await page.locator('#export').count(), 0);
  await page.close();
});

test('a likely duplicate is flagged on the form, created anyway, and merged by an admin', async () => {
  const page = await browser.newPage();
  await login(page);
  const create = async (name) => {
    await page.goto(`${base}/customers/new`);
    await page.fill('#customer-form input[name=name]', name);
    await page.fill('#customer-form input[name=mobile]', '13700001111');
    await page.click('#customer-form button.primary');
  };
  await create('司马光');
  await page.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
  await create('司马 光');
  const warning = page.locator('#duplicate-warning');
  assert.ok(await warning.isVisible(), 'the match is shown');
  assert.match(await warning.textContent(), /司马光/);
  await page.click('#customer-form button[name=allow_duplicate]');
  await page.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
  await page.close();

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const admin = await context.newPage();
  await login(admin, PASSWORD, 'e2e-admin');
  await admin.click('a[href="/duplicates"]');
  await noOverflow(admin, 'duplicates-390');
  const group = admin.locator('section.dup-group', { hasText: '13700001111' });
  await group.locator('a.button').first().click();
  await noOverflow(admin, 'duplicate-compare-390');
  await admin.check('input[name="choice.name"][value=b]');
  await admin.click('#merge-form button.primary');
  await admin.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
  assert.equal(await admin.locator('h1').first().evaluate((h) => h.firstChild.textContent.trim()), '司马 光');
  assert.match(await admin.locator('#timeline').textContent(), /合并/);
  await admin.goto(`${base}/duplicates`);
  assert.equal(await admin.locator('section.dup-group', { hasText: '13700001111' }).count(), 0);
  await context.close();
});
