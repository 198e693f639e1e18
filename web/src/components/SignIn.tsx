import type { User } from "@parley/sdk";
import { useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { ErrorText } from "./ErrorText";

export function SignIn(props: { onSignedIn(user: User): void }) {
  const [mode, setMode] = useState<"login" | "register">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const user = mode === "login" ? await client.login(username.trim(), password) : await client.register(username.trim(), password, displayName.trim() || undefined);
      props.onSignedIn(user);
    } catch (err) {
      setError(problemText(err));
    } finally {
      setBusy(false);
    }
  };

  const title = mode === "login" ? "Sign in to Parley" : "Create your Parley account";
  return (
    <main class="centered">
      <form class="card signin" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">{title}</h1>
        <label for="username">Username</label>
        <input id="username" name="username" autoComplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        {mode === "register" && (
          <>
            <label for="display-name">Display name (optional)</label>
            <input id="display-name" name="display_name" autoComplete="nickname" value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
          </>
        )}
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          required
          minLength={mode === "register" ? 8 : undefined}
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          aria-describedby={mode === "register" ? "password-hint" : undefined}
        />
        {mode === "register" && (
          <p id="password-hint" class="hint">
            At least 8 characters. Usernames: 3 to 32 lowercase letters, digits, “.”, “_” or “-”.
          </p>
        )}
        <ErrorText text={error} />
        <button type="submit" class="primary" disabled={busy}>
          {mode === "login" ? "Sign in" : "Create account"}
        </button>
        <p class="switch">
          {mode === "login" ? "New here?" : "Have an account?"}{" "}
          <button
            type="button"
            class="link"
            onClick={() => {
              setMode(mode === "login" ? "register" : "login");
              setError("");
            }}
          >
            {mode === "login" ? "Create an account" : "Sign in instead"}
          </button>
        </p>
      </form>
    </main>
  );
}
