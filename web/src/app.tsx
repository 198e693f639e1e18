import type { Conversation, Message, User } from "@parley/sdk";
import { ParleyError } from "@parley/sdk";
import { lazy, Suspense } from "preact/compat";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { client, lastUser, rememberUser } from "./client";
import { AccountPage } from "./components/AccountPage";
import { Announcer, announce } from "./components/Announcer";
import { SearchBox } from "./components/SearchBox";
import { ConversationList } from "./components/ConversationList";
import { ConversationView } from "./components/ConversationView";
import { ConnectionBanner } from "./components/ConnectionBanner";
import { NewConversationDialog } from "./components/NewConversationDialog";
import { SignIn } from "./components/SignIn";
import { useConnectionState } from "./hooks";
import { navigate, onLinkClick, useRoute } from "./router";

// Charts and admin tables load only when an admin opens them.
const AdminPage = lazy(() => import("./admin/AdminPage").then((m) => ({ default: m.AdminPage })));

type Boot = { phase: "booting" } | { phase: "signed-out" } | { phase: "ready"; user: User; offline: boolean };

export function App() {
  const [boot, setBoot] = useState<Boot>({ phase: "booting" });

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const user = await client.resume();
        if (cancelled) return;
        if (user) {
          rememberUser(user);
          setBoot({ phase: "ready", user, offline: false });
        } else setBoot({ phase: "signed-out" });
      } catch (e) {
        // The server cannot be reached: open what this browser has cached.
        const last = lastUser();
        if (last && e instanceof ParleyError && e.status === 0) {
          await client.openOffline(last.id);
          if (!cancelled) setBoot({ phase: "ready", user: { ...last, role: "user", created_at: 0 }, offline: true });
        } else if (!cancelled) setBoot({ phase: "signed-out" });
      }
    })();
    const off = client.on("session.ended", () => {
      rememberUser(null);
      setBoot({ phase: "signed-out" });
    });
    return () => {
      cancelled = true;
      off();
    };
  }, []);

  const signedIn = useCallback((user: User) => {
    rememberUser(user);
    setBoot({ phase: "ready", user, offline: false });
  }, []);

  if (boot.phase === "booting") {
    return (
      <main class="centered" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (boot.phase === "signed-out") return <SignIn onSignedIn={signedIn} />;
  return (
    <Shell
      me={boot.user}
      startedOffline={boot.offline}
      onSignedOut={() => {
        rememberUser(null);
        setBoot({ phase: "signed-out" });
      }}
      onOnline={(user) => setBoot({ phase: "ready", user, offline: false })}
    />
  );
}

function sortByActivity(list: Conversation[]): Conversation[] {
  return [...list].sort((a, b) => b.activity_at - a.activity_at);
}

function Shell(props: { me: User; startedOffline: boolean; onSignedOut(): void; onOnline(user: User): void }) {
  const { me } = props;
  const route = useRoute();
  const [jump, setJump] = useState<{ conv: string; seq: number } | null>(null);
  const state = useConnectionState();
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [names, setNames] = useState<Record<string, string>>({ [me.id]: me.display_name });
  const [creating, setCreating] = useState(false);
  const currentId = route.name === "conversation" ? route.id : null;
  const current = useRef<string | null>(currentId);
  current.current = currentId;

  const learnNames = useCallback((entries: Record<string, string>) => {
    setNames((old) => {
      const changed = Object.entries(entries).some(([k, v]) => old[k] !== v);
      return changed ? { ...old, ...entries } : old;
    });
  }, []);

  const refresh = useCallback(async () => {
    try {
      const list = await client.conversations();
      for (const c of list) client.follow(c.id, c.last_seq);
      setConversations(sortByActivity(list));
      // Direct conversations are named after the other person.
      for (const c of list) {
        if (c.kind !== "direct" || c.title) continue;
        const { members } = await client.api("get", "/api/conversations/{id}/members", { path: { id: c.id } });
        const entries: Record<string, string> = Object.fromEntries(members.map((m) => [m.user_id, m.display_name ?? m.username ?? m.user_id]));
        const peer = members.find((m) => m.user_id !== me.id) ?? members[0];
        if (peer) entries[`peer:${c.id}`] = peer.user_id;
        learnNames(entries);
      }
    } catch (e) {
      if (!(e instanceof ParleyError) || e.status !== 0) console.warn(e);
    }
  }, [learnNames, me.id]);

  // Start: cached conversations at once, then the server's, then live.
  useEffect(() => {
    let alive = true;
    void client.cachedConversations().then((cached) => {
      if (alive && cached.length) setConversations((now) => (now.length ? now : sortByActivity(cached)));
    });
    if (!props.startedOffline) {
      void refresh();
      client.connect();
    }
    const timer = setInterval(() => {
      if (document.visibilityState === "visible" && client.state === "connected") void refresh();
    }, 20_000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [props.startedOffline, refresh]);

  // Started offline: retry the login when the network returns.
  useEffect(() => {
    if (!props.startedOffline) return;
    const retry = async () => {
      try {
        const user = await client.resume();
        if (user) props.onOnline(user);
      } catch {
        // still offline
      }
    };
    addEventListener("online", retry);
    const t = setInterval(retry, 5000);
    return () => {
      removeEventListener("online", retry);
      clearInterval(t);
    };
  }, [props.startedOffline]);

  useEffect(() => {
    if (state === "connected") void refresh();
  }, [state, refresh]);

  useEffect(() => {
    const off = client.on("message", (m: Message) => {
      setConversations((list) => {
        const i = list.findIndex((c) => c.id === m.conversation_id);
        if (i < 0) {
          void refresh();
          return list;
        }
        const c = list[i] as Conversation;
        const mine = m.sender_id === me.id;
        const open = current.current === c.id && document.visibilityState === "visible";
        const next: Conversation = {
          ...c,
          last_seq: Math.max(c.last_seq, m.seq),
          activity_at: Math.max(c.activity_at, m.created_at),
          last_message: m,
          unread: mine || open ? c.unread ?? 0 : (c.unread ?? 0) + 1,
        };
        const copy = [...list];
        copy[i] = next;
        return sortByActivity(copy);
      });
      if (m.sender_id !== me.id) {
        const open = current.current === m.conversation_id;
        announce(open ? `${m.body.slice(0, 140)}` : `New message in another conversation`);
      }
    });
    const offRead = client.on("read", (ev) => {
      if (ev.user_id !== me.id) return;
      setConversations((list) => list.map((c) => (c.id === ev.conv ? readUpTo(c, ev.seq) : c)));
    });
    // Mentions of me count where I am not reading.
    const offMention = client.on("mention", (ev) => {
      const open = current.current === ev.conv && document.visibilityState === "visible";
      if (open) return;
      setConversations((list) => list.map((c) => (c.id === ev.conv ? { ...c, unread_mentions: (c.unread_mentions ?? 0) + 1 } : c)));
      announce("You were mentioned in another conversation");
    });
    // Someone started a conversation with me or added me: list it now.
    const offAdded = client.on("conversation.added", () => void refresh());
    const offUpdated = client.on("conversation.updated", (ev) => {
      setConversations((list) => list.map((c) => (c.id === ev.conv ? { ...c, ...ev.conversation } : c)));
    });
    return () => {
      off();
      offRead();
      offMention();
      offAdded();
      offUpdated();
    };
  }, [me.id, refresh]);

  const markedRead = useCallback((conv: string, seq: number) => {
    setConversations((list) => list.map((c) => (c.id === conv ? readUpTo(c, seq) : c)));
  }, []);

  const notifyChanged = useCallback((conv: string, level: "all" | "mentions" | "none") => {
    setConversations((list) => list.map((c) => (c.id === conv ? { ...c, notify: level } : c)));
  }, []);

  const selected = useMemo(() => conversations.find((c) => c.id === currentId) ?? null, [conversations, currentId]);
  const totalUnread = conversations.reduce((n, c) => n + (c.unread ?? 0), 0);
  useEffect(() => {
    document.title = totalUnread ? `(${totalUnread}) Parley` : "Parley";
  }, [totalUnread]);

  return (
    <div class={`shell ${route.name !== "home" ? "has-content" : ""}`}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/" onClick={onLinkClick({ name: "home" })}>
          Parley
        </a>
        <nav aria-label="Account" class="topnav">
          {me.role === "admin" && (
            <a href="/admin" onClick={onLinkClick({ name: "admin" })} aria-current={route.name === "admin" ? "page" : undefined}>
              Admin
            </a>
          )}
          <a href="/account" onClick={onLinkClick({ name: "account" })} aria-current={route.name === "account" ? "page" : undefined}>
            {me.display_name}
          </a>
        </nav>
      </header>
      <ConnectionBanner state={state} offline={props.startedOffline} />
      <nav class="sidebar" aria-label="Conversations">
        <div class="sidebar-head">
          <h2>Conversations</h2>
          <button type="button" class="primary" onClick={() => setCreating(true)} disabled={props.startedOffline}>
            New
          </button>
        </div>
        <SearchBox
          conversations={conversations}
          names={names}
          onOpen={(conv, seq) => {
            setJump({ conv, seq });
            navigate({ name: "conversation", id: conv });
          }}
        />
        <ConversationList conversations={conversations} currentId={currentId} me={me} names={names} />
      </nav>
      <main id="main" class="content" tabIndex={-1}>
        {route.name === "conversation" && selected && (
          <ConversationView
            key={selected.id}
            conversation={selected}
            me={me}
            names={names}
            learnNames={learnNames}
            onRead={markedRead}
            onNotify={notifyChanged}
            offline={state !== "connected"}
            jumpTo={jump?.conv === selected.id ? jump.seq : undefined}
            onJumped={() => setJump(null)}
          />
        )}
        {route.name === "conversation" && !selected && <p class="empty">{conversations.length ? "This conversation is not in your list." : "Loading…"}</p>}
        {route.name === "home" && (
          <section class="empty" aria-labelledby="welcome">
            <h1 id="welcome">Welcome, {me.display_name}</h1>
            <p>Pick a conversation, or start a new one.</p>
          </section>
        )}
        {route.name === "account" && <AccountPage me={me} onSignedOut={props.onSignedOut} />}
        {route.name === "admin" && me.role === "admin" && (
          <Suspense fallback={<p>Loading…</p>}>
            <AdminPage me={me} />
          </Suspense>
        )}
      </main>
      <Announcer />
      {creating && (
        <NewConversationDialog
          me={me}
          onClose={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            client.follow(c.id, c.last_seq);
            setConversations((list) => sortByActivity([c, ...list.filter((x) => x.id !== c.id)]));
            void refresh();
            navigate({ name: "conversation", id: c.id });
          }}
        />
      )}
    </div>
  );
}

/** A conversation read up to seq: unread mentions go once everything is read. */
function readUpTo(c: Conversation, seq: number): Conversation {
  return { ...c, last_read_seq: seq, unread: Math.max(0, c.last_seq - seq), unread_mentions: seq >= c.last_seq ? 0 : c.unread_mentions };
}
