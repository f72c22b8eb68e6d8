// Drives an import through the web UI in Debian's headless Chromium: upload
// a CSV file whose name column is not recognised, map it, see the preview,
// dry-run it, import it while the job page follows its progress, download
// the rejected rows; the same at phone width; and the job page without
// JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startKehu, noOverflow } from './support.mjs';

const LOGIN = 'e2e-manager';
const PASSWORD = 'e2e-password-123';

let app;
let base;
let browser;

before(async () => {
  app = await startKehu([[LOGIN, 'manager', '销售一部', PASSWORD]]);
  ({ base, browser } = app);
});

after(async () => {
  await app?.stop();
});

async function login(page) {
  await page.goto(`${base}/login`);
  await page.fill('#login-form input[name=login]', LOGIN);
  await page.fill('#login-form input[name=password]', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForURL(/\/customers/);
}

/// A customer list from another system: 客户全称 is not a header kehu
/// knows. Each list has its own mobile numbers (`mobile` + 8 digits).
function customerFile(rows, prefix, mobile) {
  const lines = ['客户全称,联系电话,城市'];
  for (let i = 0; i < rows; i += 1) {
    lines.push(`${prefix}${i},${mobile}${String(i).padStart(8, '0')},杭州`);
  }
  lines.push('号码不对,12345,上海');
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
}

/// Uploads a file from the upload page; lands on its mapping page.
async function upload(page, name, buffer, source, kind = 'customers') {
  await page.goto(`${base}/imports`);
  await page.click('#new-import');
  await page.selectOption('#f-kind', kind);
  await page.setInputFiles('#f-file', { name, mimeType: 'text/csv', buffer });
  await page.fill('#f-source', source);
  await page.click('#upload-form button[type=submit]');
  await page.waitForURL(/\/import\/[0-9a-f-]{36}\/mapping$/);
}

async function waitDone(page) {
  await page.locator('#import-job[data-status="done"]').waitFor({ timeout: 120_000 });
}

test('upload, map, preview, dry-run and import, following the progress', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  // Statuses such as the 422 of a mapping without a name column are
  // expected; script errors and resources the CSP refuses are not.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  await login(page);
  await page.click('#nav-imports');
  assert.equal(new URL(page.url()).pathname, '/imports');

  await upload(page, '展会名单.csv', customerFile(5000, '展会客户', '139'), '展会名单');
  // Without a name column there is no preview, only the reason.
  assert.match(await page.textContent('#mapping-form .form-error'), /姓名\/名称/);
  assert.equal(await page.locator('#preview').count(), 0);
  assert.equal(await page.inputValue('#col-1'), 'mobile', '联系电话 is recognised');
  await page.selectOption('#col-0', 'name');
  await page.click('#preview-button');
  assert.equal(await page.locator('#preview .preview-row.created').count(), 20);
  assert.equal(await page.locator('#preview .preview-row.rejected').count(), 0, 'the bad row is past the first 20');
  assert.match(await page.textContent('#preview'), /展会客户0/);

  // A dry run of the whole file writes nothing and reports the counts.
  await page.click('#dry-run-button');
  await page.waitForURL(/\/import\/[0-9a-f-]{36}$/);
  await waitDone(page);
  assert.match(await page.textContent('#job-dry-run'), /试运行/);
  assert.equal(await page.textContent('#job-created'), '5000');
  assert.equal(await page.textContent('#job-rejected'), '1');
  const jobUrl = page.url();

  // Then the import itself; the page follows the job until it is done.
  await page.click('#run-again');
  await page.waitForURL(/\/mapping$/);
  assert.equal(await page.inputValue('#col-0'), 'name', 'the chosen mapping is kept');
  await page.click('#run-button');
  await page.waitForURL(jobUrl);
  assert.equal(await page.locator('#job-progress').count(), 1);
  await waitDone(page);
  assert.equal(await page.textContent('#job-status'), '已完成');
  assert.equal(await page.getAttribute('#job-progress', 'value'), '100');
  assert.equal(await page.textContent('#job-created'), '5000');
  assert.equal(await page.textContent('#job-rejected'), '1');
  assert.equal(await page.locator('#job-dry-run').count(), 0, 'not a dry run');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#rejects-link')]);
  assert.equal(download.suggestedFilename(), '被拒绝的行.csv');
  const rejected = readFileSync(await download.path(), 'utf8');
  assert.match(rejected, /^\uFEFF行号\/line,客户全称,联系电话,城市,错误\/errors/);
  assert.match(rejected, /5002,号码不对,12345,上海,mobile: 手机号格式不正确/);

  await page.goto(`${base}/customers?q=13900004999`);
  assert.equal(await page.locator('tr.customer-row').count(), 1);
  assert.match(await page.textContent('tr.customer-row'), /展会客户4999/);
  await page.goto(`${base}/imports`);
  assert.equal(await page.locator('tr.import-row').count(), 1);
  assert.match(await page.textContent('tr.import-row'), /展会名单.*e2e-manager.*已完成.*5000/s);
  assert.deepEqual(problems, [], 'no script errors or blocked resources');
  await context.close();
});

test('interactions from another system go onto the customers\' timelines', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await login(page);
  const file = Buffer.from(
    '手机,联系时间,联系方式,沟通内容\r\n13900000001,2024-03-05 14:30,上门,谈续约\r\n13900000002,昨天,电话,回访\r\n',
    'utf8',
  );
  await upload(page, '联系记录.csv', file, '旧系统', 'interactions');
  assert.match(await page.textContent('main'), /联系记录/);
  assert.equal(await page.inputValue('#col-0'), 'mobile');
  assert.equal(await page.inputValue('#col-1'), 'occurred_at');
  assert.equal(await page.inputValue('#col-2'), 'channel');
  assert.equal(await page.inputValue('#col-3'), 'body');
  assert.equal(await page.locator('#f-owner_id').count(), 0, 'no owner for interactions');
  assert.equal(await page.locator('#preview .preview-row.created').count(), 1);
  assert.match(await page.textContent('#preview .preview-row.rejected'), /occurred_at/);
  await page.click('#run-button');
  await page.waitForURL(/\/import\/[0-9a-f-]{36}$/);
  await waitDone(page);
  assert.equal(await page.textContent('#job-created'), '1');
  assert.equal(await page.textContent('#job-rejected'), '1');
  await page.goto(`${base}/customers?q=13900000001`);
  await page.click('tr.customer-row a');
  assert.match(await page.textContent('main'), /谈续约/);
  await context.close();
});

test('the import pages fit a 390-px-wide phone screen', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await login(page);
  await page.goto(`${base}/imports`);
  await noOverflow(page, 'imports-390');
  await page.goto(`${base}/import`);
  await noOverflow(page, 'import-upload-390');
  await upload(page, '手机上传.csv', customerFile(30, '手机客户', '137'), '手机');
  await page.selectOption('#col-0', 'name');
  await page.click('#preview-button');
  await noOverflow(page, 'import-mapping-390');
  await page.click('#run-button');
  await page.waitForURL(/\/import\/[0-9a-f-]{36}$/);
  await waitDone(page);
  await noOverflow(page, 'import-job-390');
  await context.close();
});

test('without JavaScript the job page refreshes itself until the job ends', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await login(page);
  // The mapping chosen for this source before is offered again.
  await upload(page, '再来一份.csv', customerFile(3000, '再来客户', '136'), '展会名单');
  assert.equal(await page.inputValue('#col-0'), 'name');
  await page.click('#run-button');
  await page.waitForURL(/\/import\/[0-9a-f-]{36}$/);
  await waitDone(page);
  assert.equal(await page.textContent('#job-created'), '3000');
  await context.close();
});
