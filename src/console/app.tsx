// The console's frame: the sign-in gate, then a header with the live state, the overview, and the list or one order
// (chosen by the address's hash, #/orders/<id>). Nothing but the sign-in form shows until the API accepts the token.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, createApi, Unreachable, type Api, type ConsoleSettings, type OrderSummary } from './api';
import { followChanges, type LiveState } from './live';
import { OrderDetail } from './order-detail';
import { OrderList } from './order-list';
import { forgetToken, keepToken, signedInToken } from './session';
import { SignIn } from './sign-in';
import { StatusMessage } from './status-message';
import { Overview } from './overview';

/** How long the page waits before it asks an unreachable API again. */
const UNREACHABLE_RETRY_MS = 5_000;

/** The order id in `#/orders/<id>`, or undefined for the list (a malformed escape names no order either). */
function orderIdInHash(): string | undefined {
  const id = /^#\/orders\/([^/]+)$/.exec(window.location.hash)?.[1];
  try {
    return id && decodeURIComponent(id);
  } catch {
    return undefined;
  }
}

function useHashRoute(): string | undefined {
  const [orderId, setOrderId] = useState(orderIdInHash);
  useEffect(() => {
    const update = () => setOrderId(orderIdInHash());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return orderId;
}

export function App() {
  const [token, setToken] = useState(signedInToken);
  const [message, setMessage] = useState<string>();
  if (!token) {
    return (
      <SignIn
        message={message}
        onSignIn={(given) => {
          keepToken(given);
          setMessage(undefined);
          setToken(given);
        }}
      />
    );
  }
  return (
    <Console
      token={token}
      onSignOut={(why) => {
        forgetToken();
        setMessage(why);
        setToken(undefined);
      }}
    />
  );
}

const liveLabels: Record<LiveState, string> = {
  connecting: 'Connecting for live updates…',
  live: 'Live',
  down: 'Live updates paused: the API does not answer; retrying',
};

function refusal(error: unknown): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  if (error.status === 401) return `The API refused the token: ${error.message}. Sign in again.`;
  if (error.status === 403) return 'This token is not an operator token. The console needs one.';
  return undefined;
}

function Console({ token, onSignOut }: { token: string; onSignOut: (why?: string) => void }) {
  const api = useMemo<Api>(() => createApi(token), [token]);
  const orderId = useHashRoute();
  const [summary, setSummary] = useState<OrderSummary>();
  const [failure, setFailure] = useState<{ unreachable: boolean; text: string }>();
  const [settings, setSettings] = useState<ConsoleSettings>();
  const [live, setLive] = useState<LiveState>('connecting');
  // Bumped at every change the API announces: the views read their data again.
  const [revision, setRevision] = useState(0);

  const signOutOn = (error: unknown): boolean => {
    const why = refusal(error);
    if (why) onSignOut(why);
    return why !== undefined;
  };

  // The summary is operator-only: its answer is also the check that this token may see anything.
  useEffect(() => {
    let current = true;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      api.summary().then(
        (loaded) => {
          if (!current) return;
          setSummary(loaded);
          setFailure(undefined);
        },
        (error: unknown) => {
          if (!current || signOutOn(error)) return;
          const unreachable = error instanceof Unreachable;
          setFailure({ unreachable, text: error instanceof Error ? error.message : String(error) });
          if (unreachable) retry = setTimeout(() => void load(), UNREACHABLE_RETRY_MS);
        },
      );
    void load();
    return () => {
      current = false;
      clearTimeout(retry);
    };
  }, [api, revision]);

  const verified = summary !== undefined;
  useEffect(() => {
    if (!verified) return;
    void api.settings().then(setSettings, () => undefined);
    return followChanges(token, {
      state: setLive,
      changed: () => setRevision((r) => r + 1),
      refused: (status) => onSignOut(refusal(new ApiError(status, 'the token was refused'))),
    });
  }, [api, verified]);

  if (!verified) {
    return (
      <main class="page">
        {failure ? (
          <StatusMessage
            kind="error"
            title={failure.unreachable ? 'The API is unreachable' : 'The console cannot start'}
          >
            {failure.unreachable
              ? `No answer from ${window.location.origin}. Retrying every ${UNREACHABLE_RETRY_MS / 1000} s…`
              : failure.text}
          </StatusMessage>
        ) : (
          <StatusMessage kind="loading" title="Checking the token…" />
        )}
      </main>
    );
  }

  return (
    <div class="page">
      <header class="top">
        <h1>
          <a href="#/">Orders console</a>
        </h1>
        <p class={`live live-${live}`} role="status" aria-live="polite" data-live={live}>
          {liveLabels[live]}
        </p>
        <button type="button" class="quiet" onClick={() => onSignOut('Signed out.')}>
          Sign out
        </button>
      </header>
      {failure && (
        <StatusMessage kind="error" title={failure.unreachable ? 'The API is unreachable' : 'The overview failed'}>
          {failure.unreachable ? 'Showing what was last read; retrying…' : failure.text}
        </StatusMessage>
      )}
      <Overview summary={summary} />
      <main>
        {orderId ? (
          <OrderDetail api={api} id={orderId} revision={revision} settings={settings} onRefused={signOutOn} />
        ) : (
          <OrderList api={api} revision={revision} onRefused={signOutOn} />
        )}
      </main>
    </div>
  );
}
