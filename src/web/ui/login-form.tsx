/** The login form, shown when the cluster has auth on and the visitor has no session. */
import { useState } from "preact/hooks";
import { api } from "./api.ts";

/** Logs in; calls `onLoggedIn` with the user name once the cluster accepted it. */
export function LoginForm({ onLoggedIn }: { onLoggedIn: (user: string) => void }) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const result = await api.login(user, password);
      setPassword("");
      setError("");
      onLoggedIn(result.user);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="login" onSubmit={submit} data-testid="login">
      <h2>Log in</h2>
      <p class="muted">This cluster has auth on: log in to see its files.</p>
      <label>
        User
        <input
          name="user"
          autocomplete="username"
          value={user}
          onInput={(e) => setUser((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit" disabled={busy || user === "" || password === ""}>
        Log in
      </button>
      {error !== "" && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
