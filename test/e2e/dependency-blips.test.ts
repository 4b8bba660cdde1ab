// Every worker and API started while Temporal or PostgreSQL is down, and Temporal restarted while workers connect:
// each process waits, says what for, and starts working once it answers, with nobody restarting it by hand.
// production-temporal.test.ts runs the same scenarios against the production server.
import { startStack, withLogsOnFailure, type Stack } from '../../dev/stack/stack';
import { ApiClient } from './api-client';
import { startedDuringOutage, temporalRestartedWhileConnecting } from './blips';
import { stopAndSearchLogs } from './credential-search';
import { FiguresBook } from './figures';

jest.setTimeout(300_000);

const figures = new FiguresBook();
let stack: Stack;
let api: ApiClient;

beforeAll(async () => {
  // A slow gateway keeps orders waiting on payment while others already wait on their delivery timer.
  stack = await startStack('blips', { paymentsWorker: { PAYMENT_GATEWAY_DELAY_MS: '500' } });
  api = new ApiClient(stack.apiUrl, stack.operatorToken);
});

afterAll(async () => {
  await figures.flush();
  if (stack) await stopAndSearchLogs(stack);
});

it.each([
  ['17 started while Temporal is down', 'temporal'],
  ['18 started while PostgreSQL is down', 'postgres'],
] as const)('%s: every process waits for it and works once it is back, every order final', (scenario, dependency) =>
  withLogsOnFailure(stack, () => startedDuringOutage({ stack, api, figures, scenario }, dependency)),
);

it('19 Temporal restarted while the workers connect: both end polling on their own, every order final', () =>
  withLogsOnFailure(stack, () =>
    temporalRestartedWhileConnecting({ stack, api, figures, scenario: '19 Temporal restarted while connecting' }),
  ));
