// What a process does while Temporal or PostgreSQL does not answer (src/dependencies.ts): which failures are an
// outage to wait out and which a bad configuration to stop on, told from the errors Temporal's own clients raise
// here against servers that refuse, hang up or answer in plain text, and how few lines a wait costs.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { NativeConnection } from '@temporalio/worker';
import {
  BadConfiguration,
  describeFailure,
  isTemporalOutage,
  temporalDependency,
  temporalMisconfigured,
  waitFor,
  Waits,
  type Dependency,
} from '../../src/dependencies';
import { createLogger } from '../../src/logging';

const servers: Server[] = [];
const sockets = new Set<Socket>();

/** A TCP server of the test's own on loopback that greets each connection with `greet`. */
async function serverThat(greet: (socket: Socket) => void): Promise<string> {
  const server = createServer((socket) => {
    sockets.add(socket);
    greet(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function connectError(options: { address: string; tls?: boolean }): Promise<unknown> {
  const connection = await NativeConnection.connect(options).catch((error: unknown) => ({ error }));
  if ('error' in connection) return connection.error;
  await connection.close();
  throw new Error(`${options.address} answered`);
}

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('a failure of Temporal', () => {
  it('is an outage, named the same way each try, when the server hangs up', async () => {
    const address = await serverThat((socket) => socket.destroy());
    const errors = [];
    for (let i = 0; i < 4; i++) errors.push(await connectError({ address }));
    // The native client's words for a hang-up vary from try to try; these two were seen in turns.
    const recorded = [
      `Failed to call GetSystemInfo: code: 'The operation was cancelled', message: "operation was canceled", source: tonic::transport::Error(Transport, hyper::Error(Canceled, "connection closed"))`,
      `Failed to call GetSystemInfo: code: 'Unknown error', message: "transport error", source: tonic::transport::Error(Transport, hyper::Error(Io, Kind(ConnectionReset)))`,
    ].map((message) => Object.assign(new Error(message), { name: 'TransportError' }));

    for (const error of [...errors, ...recorded]) {
      expect({ outage: isTemporalOutage(error), misconfigured: temporalMisconfigured(error) }).toEqual({
        outage: true,
        misconfigured: undefined,
      });
    }
    expect(new Set([...errors, ...recorded].map(describeFailure))).toEqual(new Set(['connection reset']));
  });

  it('is a bad configuration when TLS is on for a server that answers in plain text', async () => {
    const address = await serverThat((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const error = await connectError({ address, tls: true });

    expect(temporalMisconfigured(error)).toMatch(/^the server does not answer in TLS: /);
    expect(temporalDependency(address, 'default', async () => undefined).fatal(error)).toBeInstanceOf(BadConfiguration);
  });

  it('is a bad configuration when the address is a gRPC server but no Temporal frontend, or the namespace or credentials are refused', () => {
    // The native client's ServiceError, as a gRPC server without Temporal's services answers DescribeNamespace.
    const serviceError = (code: number, message: string) =>
      Object.assign(new Error(message), { name: 'ServiceError', code });
    const refusals = [
      serviceError(
        12,
        'The server does not implement the method /temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace',
      ),
      serviceError(5, 'Namespace nope is not found.'),
      serviceError(16, 'Request unauthorized.'),
    ];
    expect(refusals.map((error) => temporalMisconfigured(error)?.split(':')[0])).toEqual([
      'no Temporal frontend there',
      'not found',
      'credentials refused',
    ]);
    expect(temporalMisconfigured(serviceError(14, 'connection refused'))).toBeUndefined();
  });
});

describe('waiting for a dependency', () => {
  const backoff = { firstMs: 1, maxMs: 2 };

  /** A dependency failing with each of `failures` in turn, then answering. */
  function flaky(failures: Error[], fatal: Dependency<string>['fatal'] = () => undefined): Dependency<string> {
    let tries = 0;
    return {
      name: 'temporal',
      target: '127.0.0.1:7233 (namespace default)',
      attempt: async () => {
        const failure = failures[tries++];
        if (failure) throw failure;
        return 'answered';
      },
      fatal,
    };
  }

  function capturingLogger() {
    type Line = { level: number; msg: string };
    const lines: Line[] = [];
    const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
    return { logger, lines };
  }

  it('logs each reason once however the tries alternate, and once when it answers', async () => {
    const { logger, lines } = capturingLogger();
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:7233');
    const late = new Error('4 DEADLINE_EXCEEDED: Deadline exceeded');
    const waits = new Waits();

    const answer = await waitFor(flaky([refused, late, refused, late, refused, late]), { logger, waits, backoff });

    expect(answer).toBe('answered');
    expect(lines.map(({ msg }) => msg)).toEqual([
      'waiting for temporal at 127.0.0.1:7233 (namespace default): connection refused',
      'waiting for temporal at 127.0.0.1:7233 (namespace default): no answer in time',
      expect.stringMatching(/^temporal answered after [\d.]+ s$/),
    ]);
    expect(waits.list()).toEqual([]);
  });

  it('stops at the first bad configuration, and gives up once the process is stopping', async () => {
    const { logger } = capturingLogger();
    const refusal = new BadConfiguration('temporal at 127.0.0.1:7233: not found');
    const badNamespace = flaky([new Error('Namespace nope is not found.')], () => refusal);
    await expect(waitFor(badNamespace, { logger, waits: new Waits(), backoff })).rejects.toBe(refusal);

    const down = new Error('connect ECONNREFUSED 127.0.0.1:7233');
    const stopping = waitFor(flaky(Array<Error>(1000).fill(down)), {
      logger,
      waits: new Waits(),
      backoff,
      stopping: () => true,
    });
    await expect(stopping).rejects.toBe(down);
  });
});
