// The logger every process makes (API, workers, scripts) redacts credential headers wherever a line holds them.
import { randomUUID } from 'node:crypto';
import { createLogger, temporalLogger } from '../../src/logging';

describe('the logger every process makes', () => {
  it('redacts credential headers wherever a line holds them, the Temporal SDK adapter included', () => {
    const lines: string[] = [];
    const logger = createLogger('worker', 'info', { write: (line: string) => void lines.push(line) });
    const secret = `secret-${randomUUID()}`;
    const headers = {
      authorization: secret,
      'proxy-authorization': secret,
      cookie: secret,
      'set-cookie': [secret],
      accept: 'application/json',
    };
    logger.info({ headers }, 'top level');
    logger.info({ req: { headers }, res: { headers } }, 'one object down');
    temporalLogger(logger).warn('from the SDK', { request: { headers } });
    expect(lines).toHaveLength(3);
    expect(lines.join('')).not.toContain(secret);
    expect(lines.map((line) => (JSON.parse(line) as { headers?: object }).headers).at(0)).toEqual({
      authorization: '[Redacted]',
      'proxy-authorization': '[Redacted]',
      cookie: '[Redacted]',
      'set-cookie': '[Redacted]',
      accept: 'application/json',
    });
  });
});
