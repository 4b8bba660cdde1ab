// The sign-in form: an operator token, pasted here or given as /console?token=… (as `npm start` prints).
import { useState } from 'preact/hooks';

export function SignIn({ message, onSignIn }: { message?: string; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main class="page sign-in">
      <h1>Orders console</h1>
      {message && (
        <p class="message message-error" role="alert">
          {message}
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim()) onSignIn(token.trim());
        }}
      >
        <label for="token">Operator token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      <p class="hint">
        <code>npm run token -- --operator</code> prints one for the embedded default. It is kept for this tab only.
      </p>
    </main>
  );
}
