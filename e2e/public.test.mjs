// The public pages of the service desk in Debian's headless Chromium at
// phone width (375 x 740), as a customer without an account uses them: file
// a request at /support (first without a way to reach them, which is named
// beside the field), land on the private link and add a message; answer a
// satisfaction survey by tapping a level and a score, and find it answered
// when the link is opened again. Every page must fit the phone's width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startKehu, noOverflow } from './support.mjs';

const AGENT = 'e2e-public-agent';
const PASSWORD = 'e2e-password-123';
const PHONE = { viewport: { width: 375, height: 740 } };
// The server refuses a support form sent back sooner than 3 s after it was
// rendered (a robot); a person takes longer.
const HUMAN_PAUSE_MS = 3300;

let app;
let base;
let browser;

before(async () => {
  app = await startKehu([[AGENT, 'agent', '客服一部', PASSWORD]]);
  ({ base, browser } = app);
});

after(async () => {
  await app?.stop();
});

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

test('file a request on a phone, land on its private link, add a message', async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(`${base}/support`);
  assert.equal(await page.getAttribute('meta[name=viewport]', 'content'), 'width=device-width, initial-scale=1');
  assert.equal(await page.locator('a[href="/logout"], form[action="/logout"]').count(), 0, 'no staff navigation');
  const trap = await page.locator('#f-website').boundingBox();
  assert.ok(!trap || trap.x + trap.width <= 0 || trap.width <= 1, `the honeypot is out of sight: ${JSON.stringify(trap)}`);
  await noOverflow(page, 'public-support-phone');

  const subject = '热水器安装后漏水';
  await page.check('#purpose-criticism');
  await page.fill('#support-form input[name=subject]', subject);
  await page.fill('#support-form textarea[name=description]', '上周安装的热水器一直漏水，门店说会来修但没人来。');
  await page.fill('#support-form input[name=name]', '赵敏');
  await pause(HUMAN_PAUSE_MS);
  await page.click('#support-form button[type=submit]');
  // Neither a mobile nor an e-mail: named beside the field, typed text kept.
  assert.ok(await page.locator('#err-mobile').isVisible(), 'a way to reach the customer is asked for');
  assert.equal(await page.inputValue('#support-form input[name=subject]'), subject);
  assert.ok(await page.isChecked('#purpose-criticism'), 'the purpose stays chosen');
  await noOverflow(page, 'public-support-error-phone');

  await page.fill('#support-form input[name=mobile]', '13911112222');
  await pause(HUMAN_PAUSE_MS);
  await page.click('#support-form button[type=submit]');
  await page.waitForURL(/\/support\/t\/[A-Za-z0-9_-]{43}$/);
  const link = page.url();
  assert.equal(await page.textContent('#ticket-subject'), subject);
  assert.match(await page.textContent('#ticket-number'), /^\d+$/);
  assert.equal(await page.textContent('#ticket-status'), '新建');
  assert.equal(await page.getAttribute('meta[name=robots]', 'content'), 'noindex, nofollow');
  assert.equal(await page.getAttribute('meta[name=referrer]', 'content'), 'no-referrer');
  assert.ok(!(await page.content()).includes('13911112222'), 'no contact details on the page');
  await noOverflow(page, 'public-ticket-phone');

  const message = '补充：漏水位置在进水管接口 <b>not bold</b>';
  await page.fill('#message-form textarea[name=body]', message);
  await page.click('#message-form button[type=submit]');
  await page.waitForURL(link);
  const mine = page.locator('#messages li.mine', { hasText: '<b>not bold</b>' });
  assert.equal(await mine.count(), 1, 'the message is shown, as text');
  assert.equal(await page.locator('#messages b').count(), 0, 'customer text is escaped');
  await noOverflow(page, 'public-ticket-message-phone');

  // The language switch needs no script and keeps the page.
  await page.click('a.lang-switch');
  await page.waitForURL(`${link}?lang=en`);
  assert.equal(await page.textContent('h1'), 'Your request');
  await noOverflow(page, 'public-ticket-en-phone');
  await context.close();
});

/// A survey link about a new ticket, made through the REST API with an
/// agent's browser session (its CSRF token goes in X-CSRF-Token).
async function surveyPath() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#login-form input[name=login]', AGENT);
  await page.fill('#login-form input[name=password]', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForURL(/\/customers/);
  const csrf = await page.locator('input[name=_csrf]').first().inputValue();
  const api = async (path, data) => {
    const r = await context.request.post(`${base}${path}`, { data, headers: { 'x-csrf-token': csrf } });
    assert.equal(r.status(), 201, `${path}: ${await r.text()}`);
    return r.json();
  };
  const customer = await api('/api/v1/customers', { name: '周芷若', kind: 'person', mobile: '13700003333' });
  const ticket = await api('/api/v1/tickets', {
    customer_id: customer.id,
    subject: '安装师傅迟到',
    description: '约好九点，十一点才到',
    purpose: 'criticism',
    severity: 'normal',
    channel: 'phone',
  });
  const link = await api(`/api/v1/tickets/${ticket.id}/surveys`, {});
  await context.close();
  assert.match(link.path, /^\/survey\/[A-Za-z0-9_-]{43}$/);
  return link.path;
}

test('answer a survey on a phone by tapping, once', async () => {
  const path = await surveyPath();
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(`${base}${path}`);
  assert.equal(await page.locator('#survey-form input[name=satisfaction]').count(), 7);
  assert.equal(await page.locator('#survey-form input[name=nps]').count(), 11);
  const labels = await page.locator('.levels label.choice').allTextContents();
  assert.deepEqual(labels.map((l) => l.trim()),
    ['很不满意', '不满意', '不太满意', '一般', '较满意', '满意', '很满意']);
  for (const id of ['level-1', 'level-7', 'nps-0', 'nps-10']) {
    const box = await page.locator(`label[for=${id}]`).boundingBox();
    assert.ok(box.height >= 36 && box.width >= 36, `${id} is easy to tap: ${JSON.stringify(box)}`);
  }
  await noOverflow(page, 'public-survey-phone');

  await page.click('label[for=level-6]');
  await page.click('label[for=nps-9]');
  assert.ok(await page.isChecked('#level-6'));
  assert.ok(await page.isChecked('#nps-9'));
  await page.fill('#survey-form textarea[name=comment]', '师傅很专业，就是来晚了');
  await page.click('#survey-form button[type=submit]');
  await page.locator('#survey-thanks').waitFor();
  assert.match(await page.textContent('#survey-thanks'), /感谢您的评价/);
  await noOverflow(page, 'public-survey-thanks-phone');

  // Reloaded (the browser sends the answer again) and opened again from
  // the link: already answered, and no form to answer twice.
  await page.reload();
  await page.locator('#survey-answered').waitFor();
  assert.match(await page.textContent('#survey-answered'), /已经填写过了/);
  await page.goto(`${base}${path}`);
  await page.locator('#survey-answered').waitFor();
  assert.match(await page.textContent('#survey-answered'), /已经填写过了/);
  assert.equal(await page.locator('#survey-form').count(), 0);
  await noOverflow(page, 'public-survey-answered-phone');
  await context.close();
});
