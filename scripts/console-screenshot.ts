// `npm run screenshot`: the console's pictures in docs/ (the list, one order, and that order at phone width), taken by headless Chromium from a
// stack of its own on free ports with a few orders made for the picture.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack } from '../dev/stack/stack';
import { launchChromium, DESKTOP, PHONE } from '../dev/tools/chromium';

const docs = join(__dirname, '..', 'docs');

async function main(): Promise<void> {
  const stack = await startStack('screenshot');
  const browser = await launchChromium();
  try {
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${stack.apiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.operatorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await response.json()) as { id: string };
    };
    const tokens = ['tok_approve', 'tok_approve', 'tok_decline', 'tok_approve', 'tok_invalid', 'tok_approve'];
    const orders = [];
    for (let i = 0; i < 12; i++) {
      orders.push(
        await post('/orders', {
          customerId: `c-${40 + (i % 4)}`,
          items: [
            { sku: 'FUEL-95', quantity: 1 + (i % 3), unitPrice: 1050 },
            { sku: 'COFFEE-L', quantity: 1, unitPrice: 650 },
          ],
          paymentToken: tokens[i % tokens.length],
        }),
      );
    }
    // Two are cancelled by an operator once confirmed; the rest are delivered after the stack's short delay.
    await sleep(500);
    await post(`/orders/${orders[0].id}/cancel`, { reason: 'customer called' });
    await post(`/orders/${orders[6].id}/cancel`, {});
    await sleep(3_000);
    for (let i = 0; i < 3; i++)
      await post('/orders', { customerId: 'c-44', items: [{ sku: 'TYRE-17', quantity: 4, unitPrice: 32000 }] });

    const page = await browser.newPage();
    await page.setViewport(DESKTOP);
    await page.goto(`${stack.apiUrl}/console?token=${stack.operatorToken}`);
    await page.waitForSelector('[data-live="live"]');
    await page.waitForSelector('tr[data-order-id]');
    await page.screenshot({ path: join(docs, 'console.png') });
    await page.click(`a[aria-label="Order ${orders[0].id}"]`);
    await page.waitForSelector('.timeline li');
    await page.screenshot({ path: join(docs, 'console-order.png') });
    await page.setViewport(PHONE);
    await page.screenshot({ path: join(docs, 'console-phone.png'), fullPage: true });
    process.stdout.write(`wrote console.png, console-order.png and console-phone.png in ${docs}\n`);
  } finally {
    await browser.close();
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
