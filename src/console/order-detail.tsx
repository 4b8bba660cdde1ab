// One order: what was bought, its amount and payment, its history as a timeline (cancel requests with who asked and
// what came of them), a link to its workflow in the Temporal Web UI, and a cancel with the API's answer.
import { useEffect, useState } from 'preact/hooks';
import { isFinal, type HistoryEntry, type OrderView } from '../domain/order';
import { ApiError, Unreachable, type Api, type CancelStatus, type ConsoleSettings } from './api';
import { dateTime, money } from './format';
import { StatusMessage } from './status-message';

interface Props {
  api: Api;
  id: string;
  revision: number;
  settings?: ConsoleSettings;
  onRefused: (error: unknown) => boolean;
}

const answerText: Record<CancelStatus, string> = {
  accepted: 'accepted: the order ends cancelled (a confirmed payment is refunded)',
  rejected: 'rejected: the order is delivered, or its delivery was already decided',
  pending: 'pending: no worker decided in time; the outcome will show in the history',
};

function describe(entry: HistoryEntry): string {
  if (entry.event === 'cancel_rejected') return `cancel rejected (the order was ${entry.state})`;
  return entry.state;
}

function workflowUrl(settings: ConsoleSettings, id: string): string {
  const base = settings.temporalUiUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(`order-${id}`)}`;
}

export function OrderDetail({ api, id, revision, settings, onRefused }: Props) {
  const [order, setOrder] = useState<OrderView>();
  const [failure, setFailure] = useState<unknown>();

  useEffect(() => {
    setOrder(undefined);
    setFailure(undefined);
  }, [id]);

  useEffect(() => {
    let current = true;
    api.order(id).then(
      (loaded) => {
        if (!current) return;
        setOrder(loaded);
        setFailure(undefined);
      },
      (error: unknown) => {
        if (current && !onRefused(error)) setFailure(error);
      },
    );
    return () => {
      current = false;
    };
  }, [api, id, revision]);

  const back = (
    <p>
      <a href="#/">← All orders</a>
    </p>
  );
  if (failure !== undefined && !order) {
    const notFound = failure instanceof ApiError && failure.status === 404;
    return (
      <section class="order">
        {back}
        <StatusMessage
          kind="error"
          title={
            notFound
              ? 'No such order'
              : failure instanceof Unreachable
                ? 'The API is unreachable'
                : 'The order failed to load'
          }
        >
          {notFound ? `There is no order ${id}.` : failure instanceof Error ? failure.message : String(failure)}
        </StatusMessage>
      </section>
    );
  }
  if (!order) {
    return (
      <section class="order">
        {back}
        <StatusMessage kind="loading" title="Loading the order…" />
      </section>
    );
  }

  return (
    <section class="order" aria-labelledby="order-title">
      {back}
      <h2 id="order-title">
        Order <span class="id">{order.id}</span>{' '}
        <span class={`badge state-${order.state}`} data-order-state={order.state}>
          {order.state}
        </span>
      </h2>
      {failure !== undefined && (
        <StatusMessage kind="error" title="The order could not be read again">
          Showing what was last read.
        </StatusMessage>
      )}
      <div class="order-grid">
        <dl class="facts">
          <dt>Customer</dt>
          <dd>{order.customerId}</dd>
          <dt>Amount</dt>
          <dd>{money(order.amount, order.currency)}</dd>
          <dt>Payment</dt>
          <dd>
            {order.payment.status}
            {order.payment.id && <span class="id"> {order.payment.id}</span>}
          </dd>
          {order.cancelReason && (
            <>
              <dt>Cancel reason</dt>
              <dd>{order.cancelReason}</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{dateTime(order.createdAt)}</dd>
          <dt>Updated</dt>
          <dd>{dateTime(order.updatedAt)}</dd>
          {settings && (
            <>
              <dt>Workflow</dt>
              <dd>
                <a href={workflowUrl(settings, order.id)} target="_blank" rel="noopener noreferrer">
                  order-{order.id} in the Temporal Web UI
                </a>
              </dd>
            </>
          )}
        </dl>
        <CancelForm api={api} order={order} onAnswer={setOrder} />
      </div>
      <h3>Items</h3>
      <div class="table-scroll">
        <table class="items">
          <thead>
            <tr>
              <th scope="col">SKU</th>
              <th scope="col" class="number">
                Quantity
              </th>
              <th scope="col" class="number">
                Unit price
              </th>
              <th scope="col" class="number">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {order.items.map((item, i) => (
              <tr key={i}>
                <td class="sku">{item.sku}</td>
                <td class="number">{item.quantity}</td>
                <td class="number">{money(item.unitPrice, order.currency)}</td>
                <td class="number">{money(item.unitPrice * item.quantity, order.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>History</h3>
      <ol class="timeline" aria-label="History, oldest first">
        {order.history.map((entry, i) => (
          <li key={i} class={`event-${entry.event} state-${entry.state}`} data-history={describe(entry)}>
            <time dateTime={entry.at}>{dateTime(entry.at)}</time>
            <span class="what">{describe(entry)}</span>
            {entry.reason && <span class="reason">reason: {entry.reason}</span>}
            {entry.by && <span class="by">by {entry.by}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function CancelForm({ api, order, onAnswer }: { api: Api; order: OrderView; onAnswer: (order: OrderView) => void }) {
  const [reason, setReason] = useState('');
  const [sending, setSending] = useState(false);
  const [answer, setAnswer] = useState<{ status: CancelStatus } | { error: string }>();
  const final = isFinal(order.state);

  return (
    <form
      class="cancel"
      aria-labelledby="cancel-title"
      onSubmit={(event) => {
        event.preventDefault();
        setSending(true);
        setAnswer(undefined);
        api
          .cancel(order.id, reason.trim())
          .then(
            (result) => {
              setAnswer({ status: result.status });
              onAnswer(result.order);
            },
            (error: unknown) => setAnswer({ error: error instanceof Error ? error.message : String(error) }),
          )
          .finally(() => setSending(false));
      }}
    >
      <h3 id="cancel-title">Cancel</h3>
      <label for="cancel-reason">Reason (optional)</label>
      <input
        id="cancel-reason"
        name="reason"
        maxLength={200}
        value={reason}
        disabled={final}
        onInput={(event) => setReason(event.currentTarget.value)}
      />
      <button type="submit" class="danger" disabled={final || sending}>
        {sending ? 'Cancelling…' : 'Cancel order'}
      </button>
      {final && !answer && <p class="hint">The order is {order.state}: there is nothing to cancel.</p>}
      <p
        class="cancel-answer"
        role="status"
        aria-live="polite"
        data-answer={answer && 'status' in answer ? answer.status : undefined}
      >
        {answer &&
          ('status' in answer
            ? `The API answered ${answerText[answer.status]}.`
            : `The cancel failed: ${answer.error}`)}
      </p>
    </form>
  );
}
