// The operator console in a real headless Chromium against the whole product as separate processes (dev/stack), and
// the Temporal Web UI the console links to, decoding through the API's codec endpoint.
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'puppeteer-core';
import type { OrderView } from '../../src/domain';
import { startStack, type Stack } from '../../dev/stack/stack';
import { eventually } from '../../dev/support/poll';
import { launchChromium, onPage, PHONE } from '../../dev/tools/chromium';

jest.setTimeout(180_000);

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  // Confirmed orders stay confirmed (no delivery within a test), so a cancel from the page has something to do.
  [stack, browser] = await Promise.all([
    // The dev server: it serves the Web UI.
    startStack('browser', { api: { DELIVERY_DELAY_SECONDS: '3600' } }, { temporal: 'dev' }),
    launchChromium(),
  ]);
  // Warm: the first order of a fresh stack also waits for the workers' first workflow and activity tasks.
  await waitForState((await createOrder(customer('warm-up'))).id, 'confirmed');
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.operatorToken}`, 'content-type': 'application/json' },
  });
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

function createOrder(customerId: string, overrides: Record<string, unknown> = {}): Promise<OrderView> {
  return api('/orders', {
    method: 'POST',
    body: JSON.stringify({
      customerId,
      items: [{ sku: 'FUEL-95', quantity: 2, unitPrice: 1050 }],
      paymentToken: 'tok_approve',
      ...overrides,
    }),
  });
}

const waitForState = (id: string, state: OrderView['state']) =>
  eventually(`order ${id} to be ${state}`, async () => {
    const order = await api<OrderView>(`/orders/${id}`);
    return order.state === state ? order : undefined;
  });

const customer = (name: string) => `browser-${name}-${randomUUID().slice(0, 8)}`;

/** The console signed in (token in the address, as `npm start` prints it), once its live stream is up. */
async function openConsole(page: Page, hash = ''): Promise<void> {
  await page.goto(`${stack.apiUrl}/console?token=${stack.operatorToken}${hash}`);
  await page.waitForSelector('[data-live="live"]', { timeout: 10_000 });
}

const listedIds = (page: Page) =>
  page.$$eval('tr[data-order-id]', (rows) => rows.map((row) => row.getAttribute('data-order-id')));

async function filterList(page: Page, filter: { state?: string; customerId?: string }): Promise<void> {
  await page.select('select[name="state"]', filter.state ?? '');
  await page.click('input[name="customerId"]', { clickCount: 3 });
  await page.keyboard.press('Backspace');
  if (filter.customerId) await page.type('input[name="customerId"]', filter.customerId);
  await page.click('.filters button[type="submit"]');
}

it('shows only the sign-in form without a token, and moves a given token out of the address bar', () =>
  onPage(browser, 'sign-in', async (page) => {
    await page.goto(`${stack.apiUrl}/console`);
    await page.waitForSelector('input#token');
    expect(await page.$('.order-table, .overview')).toBeNull();

    await page.goto(`${stack.apiUrl}/console?token=${stack.operatorToken}`);
    await page.waitForSelector('.overview');
    expect(new URL(page.url()).search).toBe('');
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([stack.operatorToken]);
  }));

it('refuses a token the API does not accept, and a customer token, back to the sign-in form', () =>
  onPage(
    browser,
    'refused-token',
    async (page) => {
      await page.goto(`${stack.apiUrl}/console?token=not-a-token`);
      await page.waitForSelector('.sign-in [role="alert"]');
      expect(await page.$eval('.sign-in [role="alert"]', (el) => el.textContent)).toContain('refused');
      const customerToken = await stack.token({ subject: 'c-42', role: 'customer' });
      await page.type('input#token', customerToken);
      await page.click('button[type="submit"]');
      await page.waitForSelector('.sign-in [role="alert"] ::-p-text(not an operator token)');
      expect(await page.$('.order-table')).toBeNull();
    },
    { expectedErrors: [/status of 40[13]/] },
  ));

it('shows a created order in the list within 2 s', () =>
  onPage(browser, 'live-list', async (page) => {
    await openConsole(page);
    const counted = () =>
      page.$$eval('[data-count] dd', (counts) => counts.reduce((sum, dd) => sum + Number(dd.textContent), 0));
    const before = await counted();
    const started = Date.now();
    const order = await createOrder(customer('live'));
    const answered = Date.now() - started;
    await page.waitForSelector(`tr[data-order-id="${order.id}"]`, { timeout: 2_000 });
    console.log(
      `a new order showed in the console ${Date.now() - started} ms after its POST (answered in ${answered} ms)`,
    );
    await eventually('the counts to include it', async () => ((await counted()) === before + 1 ? true : undefined));
    // 15 minutes of throughput, a bar each for created and delivered.
    expect(await page.$$('.chart svg rect')).toHaveLength(30);
  }));

it('narrows the list by customer and by state, at phone width too', () =>
  onPage(
    browser,
    'filters',
    async (page) => {
      const [a, b] = [customer('a'), customer('b')];
      const approved = await createOrder(a);
      const declined = await createOrder(a, { paymentToken: 'tok_decline' });
      await createOrder(b);
      await waitForState(declined.id, 'cancelled');
      await openConsole(page);

      await filterList(page, { customerId: a });
      await eventually('only the first customer listed', async () => {
        const ids = await listedIds(page);
        return ids.length === 2 && ids.includes(approved.id) && ids.includes(declined.id) ? ids : undefined;
      });
      await filterList(page, { customerId: a, state: 'cancelled' });
      await eventually('only the declined order listed', async () => {
        const ids = await listedIds(page);
        return ids.length === 1 && ids[0] === declined.id ? ids : undefined;
      });
      await filterList(page, { customerId: `${a}-nobody` });
      await page.waitForSelector('[data-state="empty"]');
      // Nothing wider than the phone: the page does not scroll sideways.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    },
    { viewport: PHONE },
  ));

it("shows an order's history as a timeline in order, with who cancelled it and why", () =>
  onPage(browser, 'timeline', async (page) => {
    const order = await createOrder(customer('timeline'));
    await waitForState(order.id, 'confirmed');
    await api(`/orders/${order.id}/cancel`, { method: 'POST', body: JSON.stringify({ reason: 'wrong address' }) });
    await waitForState(order.id, 'cancelled');

    await openConsole(page, `#/orders/${order.id}`);
    await page.waitForSelector('.timeline li');
    const entries = await page.$$eval('.timeline li', (items) => items.map((li) => li.textContent));
    expect(entries).toHaveLength(3);
    expect(entries[0]).toContain('created');
    expect(entries[1]).toContain('confirmed');
    expect(entries[2]).toMatch(/cancelled.*reason: wrong address.*by e2e-operator/);
    const link = await page.$eval('a[target="_blank"]', (a) => a.getAttribute('href'));
    expect(link).toBe(`${stack.temporalUiUrl}/namespaces/default/workflows/order-${order.id}`);
    // Every control has a name a screen reader can say.
    const unnamed = await page.$$eval('input, select, button, a', (controls) =>
      controls
        .filter(
          (c) =>
            !(c as { labels?: { length: number } }).labels?.length &&
            !c.getAttribute('aria-label') &&
            !c.textContent?.trim(),
        )
        .map((c) => c.outerHTML),
    );
    expect(unnamed).toEqual([]);
  }));

it("opens the order in the Temporal Web UI from its page, and the UI shows the order's sku decoded", () =>
  onPage(browser, 'web-ui-decoded', async (page) => {
    // A sku of this order alone, and every payload in Temporal encrypted: the page shows it only if the UI decoded it.
    const sku = `WEB-UI-${randomUUID().slice(0, 8)}`;
    const order = await createOrder(customer('web-ui'), { items: [{ sku, quantity: 1, unitPrice: 100 }] });
    await waitForState(order.id, 'confirmed');
    await openConsole(page, `#/orders/${order.id}`);
    const link = await (await page.waitForSelector('a[target="_blank"]'))!.evaluate((a) => a.href);
    await page.goto(link);
    // The workflow's input, as the UI prints it once the codec endpoint (another origin) has decoded it.
    const decoded = JSON.stringify(`"sku": "${sku}"`);
    await page.waitForFunction(`document.body.innerText.includes(${decoded})`, { timeout: 30_000 });
  }));

it('cancels from the page: the API answer shows, and the order ends cancelled', () =>
  onPage(browser, 'cancel', async (page) => {
    const order = await createOrder(customer('cancel'));
    await waitForState(order.id, 'confirmed');
    await openConsole(page, `#/orders/${order.id}`);
    await page.waitForSelector('[data-order-state="confirmed"]');

    // By keyboard: to the reason, type it, Enter submits.
    await page.focus('#cancel-reason');
    await page.keyboard.type('customer called');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.cancel-answer[data-answer]');
    const answer = await page.$eval('.cancel-answer', (el) => el.getAttribute('data-answer'));
    expect(['accepted', 'pending']).toContain(answer);
    expect(await page.$eval('.cancel-answer', (el) => el.textContent)).toContain(`The API answered ${answer}`);

    await page.waitForSelector('[data-order-state="cancelled"]', { timeout: 10_000 });
    const cancelled = await waitForState(order.id, 'cancelled');
    expect(cancelled.cancelReason).toBe('customer called');
  }));

it('renders a hostile sku as text', () =>
  onPage(browser, 'hostile-sku', async (page) => {
    const sku = '<img src=x onerror=pwned=1><script>pwned=2</script>';
    const order = await createOrder(customer('hostile'), { items: [{ sku, quantity: 1, unitPrice: 100 }] });
    await waitForState(order.id, 'confirmed');
    await openConsole(page);
    await page.waitForSelector(`tr[data-order-id="${order.id}"]`);
    expect(await page.$eval(`tr[data-order-id="${order.id}"]`, (tr) => tr.textContent)).toContain(sku);
    await page.click(`a[aria-label="Order ${order.id}"]`);
    await page.waitForSelector('td.sku');
    expect(await page.$eval('td.sku', (td) => td.textContent)).toBe(sku);
    expect(await page.$$('main img, main script')).toHaveLength(0);
    expect(await page.evaluate('typeof pwned')).toBe('undefined');
  }));

it('says the API is unreachable while it is down, and comes back live when it is up', () =>
  onPage(
    browser,
    'unreachable',
    async (page) => {
      await openConsole(page);
      const stopping = Date.now();
      await stack.api.stop();
      // The open event stream ends at once: the API's drain does not wait it out.
      const stoppedInMs = Date.now() - stopping;
      console.log(`the API stopped ${stoppedInMs} ms after SIGTERM with a console's stream open`);
      expect(stoppedInMs).toBeLessThan(5_000);
      await page.waitForSelector('[data-live="down"]');
      await filterList(page, { state: 'created' });
      await page.waitForSelector('.orders [role="alert"] ::-p-text(The API is unreachable)');
      await stack.api.start();
      await page.waitForSelector('[data-live="live"]', { timeout: 30_000 });
      await page.waitForSelector('.orders [role="alert"]', { hidden: true });
    },
    { expectedErrors: [/net::ERR_(CONNECTION_REFUSED|EMPTY_RESPONSE|CONNECTION_RESET)/] },
  ));
