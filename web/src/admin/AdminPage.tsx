// The admin area (loaded on demand): users (disable, role), the audit trail
// and live charts of this node.
import type { AdminUser, User } from "@parley/sdk";
import { useEffect, useState } from "preact/hooks";
import { client } from "../client";
import { formatTime, problemText } from "../hooks";
import { LiveCharts } from "./LiveCharts";
import { ErrorText } from "../components/ErrorText";

interface AuditEvent {
  id: string;
  at: number;
  action: string;
  actor_id: string;
  target_id: string;
  ip: string;
  detail: unknown;
}

export function AdminPage(props: { me: User }) {
  const [tab, setTab] = useState<"charts" | "users" | "reports" | "audit">("charts");
  const tabs: [typeof tab, string][] = [
    ["charts", "Live"],
    ["users", "Users"],
    ["reports", "Reports"],
    ["audit", "Audit trail"],
  ];
  return (
    <section class="page admin" aria-labelledby="admin-title">
      <h1 id="admin-title">Administration</h1>
      <div role="tablist" aria-label="Admin sections" class="tabs">
        {tabs.map(([key, label]) => (
          <button
            key={key}
            type="button"
            role="tab"
            id={`tab-${key}`}
            aria-selected={tab === key}
            aria-controls={`panel-${key}`}
            tabIndex={tab === key ? 0 : -1}
            onClick={() => setTab(key)}
            onKeyDown={(e) => {
              const i = tabs.findIndex(([k]) => k === tab);
              if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
                const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length] as [typeof tab, string];
                setTab(next[0]);
                document.getElementById(`tab-${next[0]}`)?.focus();
              }
            }}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === "charts" && <LiveCharts />}
        {tab === "users" && <UsersTable me={props.me} />}
        {tab === "reports" && <ReportsTable />}
        {tab === "audit" && <AuditTable />}
      </div>
    </section>
  );
}

function UsersTable(props: { me: User }) {
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState("");

  const load = async (after?: string) => {
    try {
      const query: { limit: number; after?: number } = { limit: 100 };
      if (after) query.after = Number(after);
      const page = (await client.api("get", "/api/admin/users", { query })) as { users: AdminUser[]; next_after: string | null };
      setUsers((old) => (after ? [...old, ...page.users] : page.users));
      setNext(page.next_after);
    } catch (e) {
      setError(problemText(e));
    }
  };
  useEffect(() => void load(), []);

  const update = async (u: AdminUser, change: { role?: "user" | "admin"; disabled?: boolean }) => {
    setError("");
    try {
      const updated = (await client.api("patch", "/api/admin/users/{id}", { path: { id: u.id }, body: change })) as AdminUser;
      setUsers((list) => list.map((x) => (x.id === u.id ? updated : x)));
    } catch (e) {
      setError(problemText(e));
    }
  };

  return (
    <>
      <ErrorText text={error} />
      <table class="table">
        <caption class="visually-hidden">Users</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Joined</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <th scope="row">
                {u.display_name} <span class="hint">@{u.username}</span>
              </th>
              <td>
                <label class="visually-hidden" for={`role-${u.id}`}>
                  Role of {u.username}
                </label>
                <select id={`role-${u.id}`} value={u.role} disabled={u.id === props.me.id} onChange={(e) => void update(u, { role: e.currentTarget.value as "user" | "admin" })}>
                  <option value="user">user</option>
                  <option value="admin">admin</option>
                </select>
              </td>
              <td>
                <button type="button" disabled={u.id === props.me.id} onClick={() => void update(u, { disabled: !u.disabled })}>
                  {u.disabled ? "Enable" : "Disable"} <span class="visually-hidden">{u.username}</span>
                </button>{" "}
                {u.disabled ? "disabled" : "active"}
              </td>
              <td>{formatTime(u.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next && (
        <button type="button" onClick={() => void load(next)}>
          More users
        </button>
      )}
    </>
  );
}

function AuditTable() {
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [action, setAction] = useState("");
  const [error, setError] = useState("");
  const load = async () => {
    setError("");
    try {
      const query: { limit: number; action?: string } = { limit: 100 };
      if (action) query.action = action;
      const page = (await client.api("get", "/api/admin/audit", { query: query as never })) as unknown as { events: AuditEvent[] };
      setEvents(page.events);
    } catch (e) {
      setError(problemText(e));
    }
  };
  useEffect(() => void load(), []);
  return (
    <>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <label for="audit-action">Action</label>
        <input id="audit-action" placeholder="e.g. login.failed" value={action} onInput={(e) => setAction(e.currentTarget.value)} />
        <button type="submit">Filter</button>
      </form>
      <ErrorText text={error} />
      <table class="table">
        <caption class="visually-hidden">Audit trail</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Actor</th>
            <th scope="col">Target</th>
            <th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          {events.map((ev) => (
            <tr key={ev.id}>
              <td>{formatTime(ev.at)}</td>
              <td>{ev.action}</td>
              <td>{ev.actor_id}</td>
              <td>{ev.target_id}</td>
              <td>{ev.ip}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

type Report = { id: string; conversation_id: string; seq: number; reporter_id: string; reason: string; created_at: number };

/** Open reports of messages: each with the message, dismissed or its message deleted. */
function ReportsTable() {
  const [reports, setReports] = useState<Report[]>([]);
  const [bodies, setBodies] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const load = async () => {
    try {
      const page = await client.api("get", "/api/admin/reports", { query: { status: "open" } });
      setReports(page.reports);
      // The reported messages, where the admin can read them (a member of the conversation).
      const found: Record<string, string> = {};
      for (const r of page.reports) {
        const m = await client
          .api("get", "/api/conversations/{id}/messages/{seq}", { path: { id: r.conversation_id, seq: r.seq } })
          .catch(() => null);
        found[r.id] = m ? (m.deleted ? "(deleted)" : m.body) : "(not a member of that conversation)";
      }
      setBodies(found);
    } catch (e) {
      setError(problemText(e));
    }
  };
  useEffect(() => void load(), []);
  const resolve = async (r: Report, action: "dismiss" | "delete_message") => {
    setError("");
    try {
      await client.api("post", "/api/admin/reports/{id}/resolve", { path: { id: r.id }, body: { action } });
      setReports((list) => list.filter((x) => x.id !== r.id));
    } catch (e) {
      setError(problemText(e));
    }
  };
  return (
    <>
      <ErrorText text={error} />
      {reports.length === 0 && <p class="hint">No open reports.</p>}
      <table class="table" data-testid="reports">
        <caption class="visually-hidden">Open reports</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Message</th>
            <th scope="col">Reason</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {reports.map((r) => (
            <tr key={r.id}>
              <td>{formatTime(r.created_at)}</td>
              <td>{bodies[r.id] ?? "…"}</td>
              <td>{r.reason}</td>
              <td>
                <button type="button" onClick={() => void resolve(r, "dismiss")}>
                  Dismiss <span class="visually-hidden">report: {r.reason}</span>
                </button>{" "}
                <button type="button" class="danger" onClick={() => void resolve(r, "delete_message")}>
                  Delete message <span class="visually-hidden">reported: {r.reason}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
