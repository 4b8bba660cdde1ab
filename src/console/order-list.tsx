// Orders newest first, filtered by state and customer, a page at a time along the API's cursor; read again whenever the
// API announces a change, keeping what is on screen until the new page is in.
import { useEffect, useState } from 'preact/hooks';
import { orderStates, type OrderState } from '../domain/order';
import { Unreachable, type Api, type ListFilter, type OrderPage } from './api';
import { dateTime, money, shortId } from './format';
import { StatusMessage } from './status-message';

interface Props {
  api: Api;
  revision: number;
  onRefused: (error: unknown) => boolean;
}

export function OrderList({ api, revision, onRefused }: Props) {
  const [filter, setFilter] = useState<{ state?: OrderState; customerId?: string }>({});
  // Cursors of the pages before this one, to go back along them.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const [page, setPage] = useState<{ for: string; page: OrderPage }>();
  const [failure, setFailure] = useState<unknown>();
  const key = JSON.stringify({ ...filter, cursor });

  useEffect(() => {
    let current = true;
    const query: ListFilter = { ...filter, cursor };
    api.listOrders(query).then(
      (loaded) => {
        if (!current) return;
        setPage({ for: key, page: loaded });
        setFailure(undefined);
      },
      (error: unknown) => {
        if (current && !onRefused(error)) setFailure(error);
      },
    );
    return () => {
      current = false;
    };
  }, [api, key, revision]);

  const applyFilter = (next: { state?: OrderState; customerId?: string }) => {
    setFilter(next);
    setCursors([undefined]);
  };
  const loading = page?.for !== key;

  return (
    <section class="orders" aria-labelledby="orders-title">
      <h2 id="orders-title">Orders</h2>
      <FilterForm filter={filter} onApply={applyFilter} />
      {failure !== undefined && (
        <StatusMessage
          kind="error"
          title={failure instanceof Unreachable ? 'The API is unreachable' : 'Orders failed to load'}
        >
          {failure instanceof Unreachable
            ? 'Showing what was last read; the list comes back when the API answers.'
            : String(failure instanceof Error ? failure.message : failure)}
        </StatusMessage>
      )}
      {loading && failure === undefined && <StatusMessage kind="loading" title="Loading orders…" />}
      {!loading && page.page.items.length === 0 && (
        <StatusMessage kind="empty" title="No orders">
          {filter.state || filter.customerId ? 'No order matches these filters.' : 'No order has been created yet.'}
        </StatusMessage>
      )}
      {!loading && page.page.items.length > 0 && (
        <div class="table-scroll">
          <table class="order-table">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Order</th>
                <th scope="col">Customer</th>
                <th scope="col" class="wide-only">
                  Items
                </th>
                <th scope="col" class="number">
                  Amount
                </th>
                <th scope="col">State</th>
                <th scope="col" class="wide-only">
                  Payment
                </th>
              </tr>
            </thead>
            <tbody>
              {page.page.items.map((order) => (
                <tr key={order.id} data-order-id={order.id}>
                  <td>{dateTime(order.createdAt)}</td>
                  <td>
                    <a href={`#/orders/${order.id}`} aria-label={`Order ${order.id}`}>
                      {shortId(order.id)}
                    </a>
                  </td>
                  <td>{order.customerId}</td>
                  <td class="wide-only">{order.items.map((item) => `${item.quantity}× ${item.sku}`).join(', ')}</td>
                  <td class="number">{money(order.amount, order.currency)}</td>
                  <td>
                    <span class={`badge state-${order.state}`}>{order.state}</span>
                  </td>
                  <td class="wide-only">{order.payment.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages of orders">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={loading || !page.page.nextCursor}
          onClick={() => page?.page.nextCursor && setCursors([...cursors, page.page.nextCursor])}
        >
          Older
        </button>
      </nav>
    </section>
  );
}

function FilterForm({
  filter,
  onApply,
}: {
  filter: { state?: OrderState; customerId?: string };
  onApply: (filter: { state?: OrderState; customerId?: string }) => void;
}) {
  const [state, setState] = useState(filter.state ?? '');
  const [customerId, setCustomerId] = useState(filter.customerId ?? '');
  return (
    <form
      class="filters"
      role="search"
      aria-label="Filter orders"
      onSubmit={(event) => {
        event.preventDefault();
        onApply({ state: (state || undefined) as OrderState | undefined, customerId: customerId.trim() || undefined });
      }}
    >
      <label>
        State
        <select name="state" value={state} onChange={(event) => setState(event.currentTarget.value)}>
          <option value="">any</option>
          {orderStates.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Customer
        <input
          name="customerId"
          type="search"
          maxLength={64}
          value={customerId}
          onInput={(event) => setCustomerId(event.currentTarget.value)}
        />
      </label>
      <button type="submit">Filter</button>
      <button
        type="button"
        class="quiet"
        onClick={() => {
          setState('');
          setCustomerId('');
          onApply({});
        }}
      >
        Clear
      </button>
    </form>
  );
}
