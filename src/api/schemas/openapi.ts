// The OpenAPI 3.1 document, generated from the zod schemas the API validates with and answers in.
import { z } from 'zod';
import { cancelOrderSchema, createOrderSchema } from './order-input';
import { IDEMPOTENCY_KEY_HEADER } from '../commands/idempotency';
import { listOrdersQuerySchema } from './requests';
import {
  cancelAnswerSchema,
  cancelRefusedSchema,
  healthSchema,
  orderListSchema,
  orderSchema,
  orderStatusSchema,
  orderSummarySchema,
  problemSchema,
  readinessProblemSchema,
  readinessSchema,
} from './responses';

const requestSchemas = { CreateOrderRequest: createOrderSchema, CancelOrderRequest: cancelOrderSchema };

/** Every schema a documented response refers to, by component name; the conformance test checks bodies with them. */
export const responseSchemas = {
  Order: orderSchema,
  CancelAnswer: cancelAnswerSchema,
  CancelRefused: cancelRefusedSchema,
  OrderList: orderListSchema,
  OrderStatus: orderStatusSchema,
  OrderSummary: orderSummarySchema,
  Problem: problemSchema,
  Health: healthSchema,
  Readiness: readinessSchema,
  ReadinessProblem: readinessProblemSchema,
};

type JsonSchema = Record<string, unknown>;

/** A generated schema without its standalone-document keys, for embedding in the OpenAPI document. */
function embeddable(schema: JsonSchema): JsonSchema {
  const embedded = { ...schema };
  delete embedded.$schema;
  delete embedded.$id;
  return embedded;
}

/** Components for one direction: requests as clients may send them (defaults optional), responses as sent. */
function components(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}` }).schemas;
  return Object.fromEntries(Object.entries(generated).map(([id, schema]) => [id, embeddable(schema)]));
}

const ref = (name: keyof typeof responseSchemas | keyof typeof requestSchemas) => ({
  $ref: `#/components/schemas/${name}`,
});
const json = (name: keyof typeof responseSchemas, description: string, extra: JsonSchema = {}) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
  ...extra,
});
const problem = (description: string, schema: keyof typeof responseSchemas = 'Problem', extra: JsonSchema = {}) => ({
  description,
  content: { 'application/problem+json': { schema: ref(schema) } },
  ...extra,
});
const unauthenticated = problem(
  'No valid Bearer token (missing, malformed, badly signed, expired or not yet valid)',
  'Problem',
  {
    headers: { 'WWW-Authenticate': { schema: { const: 'Bearer' }, description: 'Bearer' } },
  },
);
const rateLimited = problem(
  "Too many requests from this caller this minute: its role's limit (RATE_LIMIT_CUSTOMER_PER_MINUTE, RATE_LIMIT_OPERATOR_PER_MINUTE; RATE_LIMIT_ANONYMOUS_PER_MINUTE per address without a valid token), per API process",
  'Problem',
  {
    headers: {
      'Retry-After': { schema: { type: 'integer' }, description: 'Seconds until the window resets' },
      RateLimit: {
        schema: { type: 'string' },
        description: 'IETF draft 8: the policy (the role), requests remaining, seconds to reset',
      },
      'RateLimit-Policy': {
        schema: { type: 'string' },
        description: 'IETF draft 8: the policy (the role), its quota and window in seconds',
      },
    },
  },
);
/** What every /orders operation shares: a Bearer token, and the answers to a caller without one or with too many. */
const protectedOperation = { security: [{ bearerAuth: [] }] };
const retryAfter = { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } } };
const orderId = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
/** One event of GET /orders/changes: under text/event-stream, OpenAPI 3.1's `schema` describes each event. */
const orderChangeEvent = {
  type: 'object',
  required: ['event', 'data'],
  properties: {
    event: { enum: ['ready', 'change'], description: '`ready` once subscribed, `change` after orders changed' },
    data: { const: '{}', description: 'Nothing more: the console reads the orders again' },
    retry: { type: 'integer', minimum: 0, description: 'How soon (ms) a browser reconnects; sent with `ready`' },
  },
};

const queryParameters = Object.entries(listOrdersQuerySchema.shape).map(([name, schema]) => ({
  name,
  in: 'query',
  required: false,
  schema: embeddable(z.toJSONSchema(schema, { io: 'input' })),
}));

export function openApiDocument(): JsonSchema & { paths: Record<string, object> } {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Orders API',
      version: '1.0.0',
      description: 'Orders run as durable Temporal workflows; reads come from Postgres. Errors are RFC 9457 problems.',
    },
    paths: {
      '/orders': {
        post: {
          ...protectedOperation,
          summary: 'Create an order: 201 once Temporal has persisted its workflow, which then records it',
          parameters: [
            {
              name: IDEMPOTENCY_KEY_HEADER,
              in: 'header',
              required: false,
              description: 'Makes the create safe to retry: same key and body, same order.',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('CreateOrderRequest') } } },
          responses: {
            '201': json('Order', 'The order, created now or earlier with the same Idempotency-Key', {
              headers: {
                Location: { schema: { type: 'string' }, description: '/orders/{id}' },
                'Idempotent-Replayed': { schema: { const: 'true' }, description: 'Present on a replayed create' },
              },
            }),
            '400': problem('Malformed JSON, a body outside the rules, or a bad Idempotency-Key'),
            '401': unauthenticated,
            '403': problem("A customer token creating another customer's order"),
            '409': problem('The Idempotency-Key was used with a different body'),
            '413': problem('Body over 64 kB'),
            '415': problem('Body is not JSON'),
            '429': problem(
              'Too many orders wait to be processed (ORDERS_MAX_BACKLOG); nothing was created',
              'Problem',
              retryAfter,
            ),
            '503': problem(
              'Temporal or Postgres is not reachable; no order was created, or retrying with the Idempotency-Key (given back in this header when the request had none) yields the one order',
              'Problem',
              retryAfter,
            ),
          },
        },
        get: {
          ...protectedOperation,
          summary: "List orders, newest first, with a keyset cursor (a customer token: that customer's only)",
          parameters: queryParameters,
          responses: {
            '200': json('OrderList', 'A page of orders; `nextCursor` is null on the last page'),
            '400': problem('A bad state, customerId, limit or cursor'),
            '401': unauthenticated,
            '403': problem('A customer token filtering on another customer'),
            '429': rateLimited,
            '503': problem('Postgres is not reachable'),
          },
        },
      },
      '/orders/summary': {
        get: {
          ...protectedOperation,
          summary:
            'Operators only: orders by state, and orders created and delivered per minute of the last 15 minutes',
          responses: {
            '200': json('OrderSummary', 'The counts, and 15 minutes of throughput, oldest first'),
            '401': unauthenticated,
            '403': problem('A customer token'),
            '429': rateLimited,
            '503': problem('Postgres is not reachable'),
          },
        },
      },
      '/orders/changes': {
        get: {
          ...protectedOperation,
          summary:
            'Operators only: server-sent events saying when orders changed (the console reads them again then); `ready` once subscribed, `change` at most twice a second, a comment every 25 s',
          responses: {
            '200': {
              description: 'An event stream that stays open: `event: ready`, then `event: change` after changes',
              content: { 'text/event-stream': { schema: orderChangeEvent } },
            },
            '401': unauthenticated,
            '403': problem('A customer token'),
            '429': rateLimited,
          },
        },
      },
      '/orders/{id}': {
        get: {
          ...protectedOperation,
          summary: 'One order with its history',
          parameters: [orderId],
          responses: {
            '200': json('Order', 'The order'),
            '401': unauthenticated,
            '404': problem("No such order (or a malformed id, or another customer's)"),
            '429': rateLimited,
            '503': problem('Postgres or Temporal is not reachable'),
          },
        },
      },
      '/orders/{id}/status': {
        get: {
          ...protectedOperation,
          summary: "An order's current state",
          parameters: [orderId],
          responses: {
            '200': json('OrderStatus', 'The state'),
            '401': unauthenticated,
            '404': problem("No such order (or another customer's)"),
            '429': rateLimited,
            '503': problem('Postgres or Temporal is not reachable'),
          },
        },
      },
      '/orders/{id}/cancel': {
        post: {
          ...protectedOperation,
          summary: 'Ask for an order to be cancelled (who asked is recorded with it)',
          parameters: [orderId],
          requestBody: { required: false, content: { 'application/json': { schema: ref('CancelOrderRequest') } } },
          responses: {
            '200': json('CancelAnswer', '`accepted`: the order is cancelled (or already was), its payment settled'),
            '202': json(
              'CancelAnswer',
              '`accepted`: it will end cancelled (payment or refund still settling); `pending`: no worker decided in time, the request is kept and its outcome shows in the order history',
            ),
            '400': problem('A body outside the rules'),
            '401': unauthenticated,
            '404': problem("No such order (or another customer's)"),
            '429': rateLimited,
            '409': problem(
              '`rejected`: delivered, or its delivery already decided (or its workflow ended)',
              'CancelRefused',
            ),
            '415': problem('Body is not JSON'),
            '503': problem('Temporal or Postgres is not reachable'),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': json('Health', 'The process runs') } } },
      '/readyz': {
        get: {
          summary: 'Readiness: Postgres and Temporal answer',
          responses: {
            '200': json('Readiness', 'Ready'),
            '503': {
              description: 'Not ready; `checks` names what is down',
              content: { 'application/problem+json': { schema: ref('ReadinessProblem') } },
            },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } } },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { ...components(requestSchemas, 'input'), ...components(responseSchemas, 'output') },
    },
  };
}
