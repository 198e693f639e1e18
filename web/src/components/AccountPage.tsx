import type { User } from "@parley/sdk";
import { useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { navigate } from "../router";
import { Dialog } from "./Dialog";
import { ErrorText } from "./ErrorText";

export function AccountPage(props: { me: User; onSignedOut(): void }) {
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  const [deleting, setDeleting] = useState(false);
  const [password, setPassword] = useState("");

  const exportData = async () => {
    setError("");
    setStatus("Preparing your export…");
    try {
      const pages: unknown[] = [];
      let after: number | undefined;
      for (;;) {
        const query: { after?: number; limit: number } = { limit: 200 };
        if (after !== undefined) query.after = after;
        const page = await client.api("get", "/api/users/me/export", { query });
        pages.push(page);
        if (!page.next_after) break;
        after = Number(page.next_after);
      }
      const blob = new Blob([JSON.stringify(pages, null, 2)], { type: "application/json" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `parley-export-${props.me.username}.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      setStatus("Your export was downloaded.");
    } catch (e) {
      setStatus("");
      setError(problemText(e));
    }
  };

  const deleteAccount = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      await client.api("delete", "/api/users/me", { body: { password } });
      await client.logout().catch(() => {});
      props.onSignedOut();
      navigate({ name: "home" });
    } catch (err) {
      setError(problemText(err));
    }
  };

  return (
    <section class="page" aria-labelledby="account-title">
      <h1 id="account-title">Your account</h1>
      <dl class="facts">
        <dt>Username</dt>
        <dd>{props.me.username}</dd>
        <dt>Display name</dt>
        <dd>{props.me.display_name}</dd>
        <dt>Role</dt>
        <dd>{props.me.role}</dd>
      </dl>
      <div class="row">
        <button
          type="button"
          onClick={async () => {
            await client.logout().catch(() => {});
            props.onSignedOut();
            navigate({ name: "home" });
          }}
        >
          Sign out
        </button>
        <button type="button" onClick={() => void exportData()}>
          Export my data
        </button>
        <button type="button" class="danger" onClick={() => setDeleting(true)}>
          Delete my account
        </button>
      </div>
      <p role="status">{status}</p>
      {!deleting && <ErrorText text={error} />}
      {deleting && (
        <Dialog title="Delete your account" onClose={() => setDeleting(false)}>
          <form onSubmit={deleteAccount} class="stack">
            <p>Your account and every message you sent will be erased. This cannot be undone.</p>
            <label for="delete-password">Your password</label>
            <input id="delete-password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            <ErrorText text={error} />
            <div class="row">
              <button type="submit" class="danger">
                Delete my account
              </button>
              <button type="button" onClick={() => setDeleting(false)}>
                Cancel
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </section>
  );
}
