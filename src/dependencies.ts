// What a process needs before it can work — Temporal and PostgreSQL — waited for with capped backoff while it is
// down or unreachable. Only a bad configuration (an unknown namespace, refused credentials, a database that does not
// exist) ends the wait, as a BadConfiguration that names it: a dependency that is merely down is never a reason to exit.
import { isGrpcServiceError, NamespaceNotFoundError } from '@temporalio/client';
import { backOff } from 'exponential-backoff';
import type { Db } from './db/knex';
import type { Logger } from './logging';

export type DependencyName = 'temporal' | 'postgres';

/** The first retry waits this long, each next one twice as long, up to the cap. */
export const WAIT_BACKOFF = { firstMs: 500, maxMs: 10_000 };

export class BadConfiguration extends Error {
  override name = 'BadConfiguration';
}

/** What a process is waiting for right now, and why: its /readyz names them. */
export class Waits {
  private readonly reasons = new Map<DependencyName, string>();

  set(name: DependencyName, reason: string): void {
    this.reasons.set(name, reason);
  }

  clear(name: DependencyName): void {
    this.reasons.delete(name);
  }

  /** `temporal (connection refused)`-style entries, empty once nothing is awaited. */
  list(): string[] {
    return [...this.reasons].map(([name, reason]) => `${name} (${reason})`);
  }
}

export interface Dependency<T> {
  name: DependencyName;
  /** Where it is, as the log should say it: never a URL with a password. */
  target: string;
  /** One try; throws while the dependency cannot be used. */
  attempt(): Promise<T>;
  /** The error to stop with when a failure is not an outage (a bad configuration); undefined for an outage. */
  fatal(error: unknown): Error | undefined;
}

/** What a wait writes to: a service's logger, or a line printer such as `npm start`'s. */
export interface WaitLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface WaitOptions {
  logger: WaitLog;
  waits: Waits;
  /** Set once the process is stopping: the wait ends with the last error instead of trying again. */
  stopping?: () => boolean;
  backoff?: { firstMs: number; maxMs: number };
}

/**
 * Tries until the dependency answers. Logs once when the wait begins, again only for a reason not seen yet in this
 * wait, and once when it answers, so a long outage costs a few lines rather than one per try (a server that hangs up
 * fails in turns with different words).
 */
export async function waitFor<T>(dependency: Dependency<T>, options: WaitOptions): Promise<T> {
  const { logger, waits, stopping = () => false, backoff = WAIT_BACKOFF } = options;
  const { name, target } = dependency;
  const startedAt = Date.now();
  const reasonsSaid = new Set<string>();
  let tries = 0;
  const result = await backOff(
    async () => {
      tries += 1;
      return dependency.attempt();
    },
    {
      numOfAttempts: Number.POSITIVE_INFINITY,
      startingDelay: backoff.firstMs,
      maxDelay: backoff.maxMs,
      timeMultiple: 2,
      retry: (error: unknown) => {
        const fatal = dependency.fatal(error);
        if (fatal) throw fatal;
        if (stopping()) return false;
        const reason = describeFailure(error);
        waits.set(name, reason);
        if (!reasonsSaid.has(reason)) {
          logger.warn(
            { dependency: name, target, reason, retryingUpToMs: backoff.maxMs },
            `waiting for ${name} at ${target}: ${reason}`,
          );
          reasonsSaid.add(reason);
        }
        return true;
      },
    },
  );
  waits.clear(name);
  if (reasonsSaid.size > 0) {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    logger.info(
      { dependency: name, target, tries, waitedSeconds: Number(seconds) },
      `${name} answered after ${seconds} s`,
    );
  }
  return result;
}

export interface Watch {
  stop(): void;
}

/**
 * After the start: checks each dependency every `intervalMs` and logs when one stops answering and when it answers
 * again — one line each way, however long the outage — keeping `waits` current for /readyz.
 */
export function watchDependencies(
  dependencies: Dependency<unknown>[],
  { logger, waits, intervalMs = 2_000 }: { logger: Logger; waits: Waits; intervalMs?: number },
): Watch {
  const downSince = new Map<DependencyName, number>();
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    await Promise.all(
      dependencies.map(async ({ name, target, attempt }) => {
        try {
          await withTimeout(attempt(), intervalMs);
          const since = downSince.get(name);
          if (since === undefined) return;
          downSince.delete(name);
          waits.clear(name);
          const seconds = Number(((Date.now() - since) / 1000).toFixed(1));
          logger.info({ dependency: name, target, downSeconds: seconds }, `${name} answers again after ${seconds} s`);
        } catch (error) {
          const reason = describeFailure(error);
          waits.set(name, reason);
          if (downSince.has(name)) return;
          downSince.set(name, Date.now());
          logger.warn({ dependency: name, target, reason }, `${name} at ${target} not answering: ${reason}`);
        }
      }),
    );
    checking = false;
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The work's result, or a rejection once `ms` have passed without one. */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

// The first line of an error's message, without the gRPC and driver noise around it, e.g. "connection refused".
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const known: [RegExp, string][] = [
    [/connection refused|ECONNREFUSED/i, 'connection refused'],
    [/tcp connect error/i, 'cannot connect'],
    [/ENOTFOUND|failed to lookup|dns error|name resolution/i, 'address not found'],
    [/timed? ?out|deadline/i, 'no answer in time'],
    // Temporal's native client says a hang-up as ConnectionReset or as a cancelled call on a closed connection.
    [/ECONNRESET|connection ?reset|connection closed|operation was cancell?ed|broken pipe/i, 'connection reset'],
    [/the database system is (starting up|shutting down)/i, 'database starting or stopping'],
  ];
  for (const [pattern, reason] of known) if (pattern.test(message)) return reason;
  return message.split('\n')[0].slice(0, 200);
}

// gRPC codes that a misconfigured client gets however long it waits: unknown namespace, bad or refused credentials,
// an address that is a gRPC server but no Temporal frontend (e.g. a history or matching port).
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNIMPLEMENTED = 12;
const GRPC_UNAUTHENTICATED = 16;

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/** Why Temporal refuses this process whatever the wait; undefined for anything that may pass (an outage). */
export function temporalMisconfigured(error: unknown): string | undefined {
  if (error instanceof NamespaceNotFoundError) return error.message;
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = messageOf(error);
  if (isGrpcServiceError(error) || typeof code === 'number') {
    if (code === GRPC_NOT_FOUND) return `not found: ${message}`;
    if (code === GRPC_UNAUTHENTICATED || code === GRPC_PERMISSION_DENIED) return `credentials refused: ${message}`;
    if (code === GRPC_INVALID_ARGUMENT) return `invalid request: ${message}`;
    if (code === GRPC_UNIMPLEMENTED) return `no Temporal frontend there: ${message}`;
  }
  // rustls reading a plain-text answer: TLS is on for a server that does not speak it.
  if (/InvalidContentType/.test(message)) return `the server does not answer in TLS: ${message}`;
  // The native connection says so in words; a refused or reset connection is an outage whatever else it says.
  if (/refused|reset|timed? ?out|deadline|unavailable|broken pipe/i.test(message)) return undefined;
  if (/namespace .*not found|invalid (uri|url)|certificate|unauthenticated|permission denied/i.test(message))
    return message;
  return undefined;
}

/** Why PostgreSQL refuses this process whatever the wait: a bad password or role (class 28), an unknown database. */
export function postgresMisconfigured(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (code.startsWith('28') || code === '3D000')) return messageOf(error);
  return undefined;
}

/** `host:port/database` of a PostgreSQL URL: what a log may say of it (never its password). */
export function postgresTarget(url: string): string {
  const { hostname, port, pathname } = new URL(url);
  return `${hostname}:${port || '5432'}${pathname}`;
}

export function postgresDependency(db: Db, url: string): Dependency<void> {
  const target = postgresTarget(url);
  return {
    name: 'postgres',
    target,
    attempt: async () => {
      await db.raw('select 1');
    },
    fatal: (error) => {
      const why = postgresMisconfigured(error);
      return why ? new BadConfiguration(`postgres at ${target}: ${why}`) : undefined;
    },
  };
}

/** Temporal's namespace as a dependency: `connect` makes (or reuses) a connection and describes the namespace. */
export function temporalDependency<T>(address: string, namespace: string, connect: () => Promise<T>): Dependency<T> {
  const target = `${address} (namespace ${namespace})`;
  return {
    name: 'temporal',
    target,
    attempt: connect,
    fatal: (error) => {
      const why = temporalMisconfigured(error);
      return why ? new BadConfiguration(`temporal at ${target}: ${why}`) : undefined;
    },
  };
}

// gRPC codes of a server that is down, starting, overloaded or lost its own store: CANCELLED, UNKNOWN,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE.
const GRPC_OUTAGE_CODES = new Set([1, 2, 4, 8, 10, 13, 14]);

/** True for a failure that says Temporal is down or unreachable (not that this process is misconfigured). */
export function isTemporalOutage(error: unknown): boolean {
  if (error instanceof Error && error.name === 'TransportError') return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && GRPC_OUTAGE_CODES.has(code)) return true;
  return /refused|reset|timed? ?out|deadline|unavailable|broken pipe|transport error/i.test(messageOf(error));
}
