// The operator's token for this tab only: taken from `?token=` (then removed from the address bar) or the sign-in form,
// kept in sessionStorage, so it leaves with the tab and never lands in the history or a bookmark.
const KEY = 'orders-console-token';

export function signedInToken(): string | undefined {
  const url = new URL(window.location.href);
  const given = url.searchParams.get('token');
  if (given !== null) {
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
    if (given.trim()) sessionStorage.setItem(KEY, given.trim());
  }
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function keepToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
