import type { Conversation, Member, Message, OutboxItem, User } from "@parley/sdk";
import { ParleyError } from "@parley/sdk";
import { lazy, Suspense } from "preact/compat";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { conversationTitle } from "./ConversationList";
import { MembersDialog } from "./MembersDialog";
import { MessageComposer, type Mentionable } from "./MessageComposer";
import { MessageList } from "./MessageList";
import { PinnedDialog } from "./PinnedDialog";
import { PollDialog } from "./PollDialog";
import { ThreadPanel } from "./ThreadPanel";

const PAGE = 50;
// Yjs and y-websocket load only when someone opens the notes.
const NotesPane = lazy(() => import("./NotesPane").then((m) => ({ default: m.NotesPane })));

export function ConversationView(props: {
  conversation: Conversation;
  me: User;
  names: Record<string, string>;
  learnNames(entries: Record<string, string>): void;
  onRead(conv: string, seq: number): void;
  onNotify(conv: string, level: "all" | "mentions" | "none"): void;
  /** A message to show and focus (a search hit), then onJumped. */
  jumpTo?: number;
  onJumped?(): void;
  offline: boolean;
}) {
  const conv = props.conversation;
  const { me } = props;
  const [messages, setMessages] = useState<Map<number, Message>>(new Map());
  const [hasMore, setHasMore] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [members, setMembers] = useState<Member[]>([]);
  const [typing, setTyping] = useState<Record<string, number>>({});
  const [pending, setPending] = useState<OutboxItem[]>(() => client.outbox.filter((i) => i.conv === conv.id));
  const [presence, setPresence] = useState<Record<string, "online" | "offline">>({});
  const [error, setError] = useState("");
  const [showMembers, setShowMembers] = useState(false);
  const [showNotes, setShowNotes] = useState(false);
  const [threadRoot, setThreadRoot] = useState<number | null>(null);
  const [showPins, setShowPins] = useState(false);
  const [showPoll, setShowPoll] = useState(false);
  const [pinsVersion, setPinsVersion] = useState(0);
  const readUpTo = useRef(conv.last_read_seq ?? 0);

  const merge = useCallback((list: Message[]) => {
    if (!list.length) return;
    setMessages((old) => {
      const next = new Map(old);
      for (const m of list) {
        const had = next.get(m.seq);
        if (!had || (m.edited_at ?? 0) >= (had.edited_at ?? 0) || m.deleted) {
          // Events carry no reactions or thread summary: keep what a page brought.
          const kept = { ...m };
          if (m.reactions === undefined && had?.reactions && !m.deleted) kept.reactions = had.reactions;
          if (m.thread === undefined && had?.thread) kept.thread = had.thread;
          if (m.pinned === undefined && had?.pinned && !m.deleted) kept.pinned = had.pinned;
          next.set(m.seq, kept);
        }
        if (m.reply_to) countReply(next, m, had);
      }
      return next;
    });
  }, []);

  // A reaction's new count on a message; mine: whether I have it now (kept when unknown).
  const applyReaction = useCallback((seq: number, reaction: string, count: number, mine?: boolean) => {
    setMessages((old) => {
      const m = old.get(seq);
      if (!m) return old;
      const list = [...(m.reactions ?? [])];
      const i = list.findIndex((r) => r.reaction === reaction);
      const me = mine ?? (i >= 0 ? list[i]!.me : false);
      if (count <= 0) {
        if (i >= 0) list.splice(i, 1);
      } else if (i >= 0) {
        list[i] = { reaction, count, me };
      } else {
        list.push({ reaction, count, me });
      }
      const next = new Map(old);
      next.set(seq, { ...m, reactions: list });
      return next;
    });
  }, []);

  // A search hit: the page around it, then the message scrolled to and focused.
  useEffect(() => {
    const seq = props.jumpTo;
    if (!seq) return;
    let alive = true;
    client
      .messages(conv.id, { after: Math.max(0, seq - 25), limit: 50 })
      .then((page) => {
        if (!alive) return;
        merge(page.messages);
        const target = page.messages.find((m) => m.seq === seq);
        if (target?.reply_to && !target.broadcast) setThreadRoot(target.reply_to);
        setTimeout(() => {
          const el = document.getElementById(`message-${seq}`);
          el?.scrollIntoView({ block: "center" });
          el?.focus();
          props.onJumped?.();
        }, 50);
      })
      .catch((e) => alive && setError(problemText(e)));
    return () => {
      alive = false;
    };
  }, [props.jumpTo, conv.id]);

  // Opening a thread reads its replies (a page of the conversation may hold none of them).
  useEffect(() => {
    if (threadRoot === null) return;
    let alive = true;
    const load = async () => {
      let after = 0;
      for (let pages = 0; pages < 10 && alive; pages++) {
        const t = await client.thread(conv.id, threadRoot, { after, limit: 200 });
        if (!alive) return;
        merge([t.root, ...t.replies]);
        if (!t.has_more || t.next_after === null) return;
        after = t.next_after;
      }
    };
    load().catch((e) => alive && setError(problemText(e)));
    return () => {
      alive = false;
    };
  }, [threadRoot, conv.id]);

  const loadMembers = useCallback(async () => {
    try {
      const { members: list } = await client.api("get", "/api/conversations/{id}/members", { path: { id: conv.id } });
      setMembers(list);
      props.learnNames(Object.fromEntries(list.map((m) => [m.user_id, m.display_name ?? m.username ?? m.user_id])));
      const others = list.filter((m) => m.user_id !== me.id).slice(0, 100).map((m) => m.user_id);
      if (others.length && client.state === "connected") {
        const entries = await client.presence(others).catch(() => []);
        setPresence(Object.fromEntries(entries.map((p) => [p.user_id, p.status])));
      }
    } catch (e) {
      if (!(e instanceof ParleyError) || e.status !== 0) setError(problemText(e));
    }
  }, [conv.id, me.id]);

  // Cached history first, then the newest page from the server.
  useEffect(() => {
    let alive = true;
    void client.cachedMessages(conv.id, PAGE).then((cached) => alive && merge(cached));
    client
      .messages(conv.id, { limit: PAGE })
      .then((page) => {
        if (!alive) return;
        merge(page.messages);
        setHasMore(page.has_more);
      })
      .catch((e) => {
        if (alive && (!(e instanceof ParleyError) || e.status !== 0)) setError(problemText(e));
      });
    void loadMembers();
    return () => {
      alive = false;
    };
  }, [conv.id]);

  useEffect(() => {
    if (client.state === "connected") void loadMembers();
  }, [props.offline]);

  useEffect(() => {
    const offs = [
      client.on("message", (m) => {
        if (m.conversation_id !== conv.id) return;
        merge([m]);
        setTyping((t) => {
          if (!(m.sender_id in t)) return t;
          const { [m.sender_id]: _, ...rest } = t;
          return rest;
        });
      }),
      client.on("message.updated", (m) => m.conversation_id === conv.id && merge([m])),
      client.on("message.deleted", (m) => m.conversation_id === conv.id && merge([m])),
      client.on("reaction", (ev) => {
        if (ev.conv === conv.id) applyReaction(ev.seq, ev.reaction, ev.count, ev.user_id === me.id ? ev.action === "added" : undefined);
      }),
      client.on("pin", (ev) => {
        if (ev.conv !== conv.id) return;
        setMessages((old) => {
          const m = old.get(ev.seq);
          if (!m) return old;
          const next = new Map(old);
          const { pinned: _, ...rest } = m;
          next.set(ev.seq, ev.pinned ? { ...rest, pinned: { by: ev.user_id, at: Date.now() } } : rest);
          return next;
        });
        setPinsVersion((v) => v + 1);
      }),
      client.on("rewound", (c, last) => {
        if (c !== conv.id) return;
        setMessages((old) => new Map([...old].filter(([seq]) => seq <= last)));
      }),
      client.on("read", (ev) => {
        if (ev.conv !== conv.id) return;
        setMembers((list) => list.map((m) => (m.user_id === ev.user_id ? { ...m, last_read_seq: Math.max(m.last_read_seq, ev.seq) } : m)));
      }),
      client.on("delivered", (ev) => {
        if (ev.conv !== conv.id) return;
        setMembers((list) => list.map((m) => (m.user_id === ev.user_id ? { ...m, delivered_seq: Math.max(m.delivered_seq ?? 0, ev.seq) } : m)));
      }),
      client.on("typing", (ev) => {
        if (ev.conv !== conv.id || ev.user_id === me.id) return;
        setTyping((t) => ({ ...t, [ev.user_id]: Date.now() + ev.expires_in_ms }));
      }),
      client.on("presence", (ev) => {
        if (ev.conv === conv.id) setPresence((p) => ({ ...p, [ev.user_id]: ev.status }));
      }),
      client.on("member.joined", (ev) => ev.conv === conv.id && void loadMembers()),
      client.on("member.left", (ev) => ev.conv === conv.id && void loadMembers()),
      client.on("outbox", (items) => setPending(items.filter((i) => i.conv === conv.id))),
    ];
    return () => offs.forEach((off) => off());
  }, [conv.id, me.id]);

  // Typing indicators expire unless renewed.
  useEffect(() => {
    const keys = Object.keys(typing);
    if (!keys.length) return;
    const t = setInterval(() => {
      const now = Date.now();
      setTyping((cur) => Object.fromEntries(Object.entries(cur).filter(([, until]) => until > now)));
    }, 500);
    return () => clearInterval(t);
  }, [typing]);

  const sorted = useMemo(() => [...messages.values()].sort((a, b) => a.seq - b.seq), [messages]);
  const newest = sorted.length ? (sorted[sorted.length - 1] as Message).seq : 0;
  // Replies live in their thread; a broadcast one shows in the conversation too.
  const timeline = useMemo(() => sorted.filter((m) => !m.reply_to || m.broadcast), [sorted]);
  const root = threadRoot === null ? undefined : messages.get(threadRoot);
  const replies = useMemo(() => (threadRoot === null ? [] : sorted.filter((m) => m.reply_to === threadRoot)), [sorted, threadRoot]);
  const closeThread = useCallback(() => setThreadRoot(null), []);

  // Read up to the newest message while the page is visible.
  useEffect(() => {
    const mark = () => {
      if (document.visibilityState !== "visible" || newest <= readUpTo.current) return;
      readUpTo.current = newest;
      props.onRead(conv.id, newest);
      client.markRead(conv.id, newest).catch(() => {
        readUpTo.current = 0;
      });
    };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [newest, conv.id]);

  const loadOlder = useCallback(async () => {
    const oldest = sorted[0]?.seq;
    if (!oldest || oldest <= 1 || loadingOlder) return;
    setLoadingOlder(true);
    try {
      const page = await client.messages(conv.id, { before: oldest, limit: PAGE });
      merge(page.messages);
      setHasMore(page.has_more);
    } catch (e) {
      setError(problemText(e));
    } finally {
      setLoadingOlder(false);
    }
  }, [sorted, loadingOlder, conv.id]);

  const title = conversationTitle(conv, props.names);
  const peer = conv.kind === "direct" ? members.find((m) => m.user_id !== me.id) : undefined;
  const typers = Object.keys(typing).map((id) => props.names[id] ?? "Someone");
  const myLastSeq = [...sorted].reverse().find((m) => m.sender_id === me.id && !m.deleted)?.seq ?? 0;
  const seenBy = myLastSeq ? members.filter((m) => m.user_id !== me.id && m.last_read_seq >= myLastSeq).map((m) => m.display_name ?? m.username ?? "") : [];
  const others = members.filter((m) => m.user_id !== me.id);
  const deliveredTo = myLastSeq ? others.filter((m) => Math.max(m.delivered_seq ?? 0, m.last_read_seq) >= myLastSeq).length : 0;
  const myRole = members.find((m) => m.user_id === me.id)?.role ?? conv.my_role ?? "member";
  const mentionable: Mentionable[] = useMemo(
    () => members.filter((m) => m.user_id !== me.id && m.username).map((m) => ({ user_id: m.user_id, username: m.username!, name: m.display_name ?? m.username! })),
    [members, me.id],
  );
  const usernames = useMemo(() => Object.fromEntries(members.flatMap((m) => (m.username ? [[m.user_id, m.username]] : []))), [members]);
  const canMentionAll = conv.kind !== "direct" && (myRole === "owner" || myRole === "admin");
  const [notify, setNotify] = useState(conv.notify ?? "all");
  useEffect(() => setNotify(conv.notify ?? "all"), [conv.notify]);
  const canPin = (conv.pin_role ?? "member") === "member" || myRole === "owner" || myRole === "admin";
  const pin = useCallback(
    async (m: Message, on: boolean) => {
      try {
        await (on ? client.pin(conv.id, m.seq) : client.unpin(conv.id, m.seq));
      } catch (e) {
        setError(problemText(e));
      }
    },
    [conv.id],
  );
  const changeNotify = async (level: "all" | "mentions" | "none") => {
    const was = notify;
    setNotify(level);
    try {
      await client.api("put", "/api/conversations/{id}/notify", { path: { id: conv.id }, body: { notify: level } });
      props.onNotify(conv.id, level);
    } catch (e) {
      setNotify(was);
      setError(problemText(e));
    }
  };

  return (
    <section class="conversation" aria-labelledby="conversation-title">
      <div class="conversation-head">
        <a class="back" href="/" onClick={(e) => (e.preventDefault(), history.back())} aria-label="Back to conversations">
          ←
        </a>
        <div>
          <h1 id="conversation-title">{title}</h1>
          <p class="hint" data-testid="presence">
            {peer
              ? presence[peer.user_id] === "online"
                ? "Online"
                : "Offline"
              : `${members.length || conv.member_count || 0} members`}
          </p>
        </div>
        <label class="notify">
          <span class="visually-hidden">Notifications</span>
          <select value={notify ?? "all"} onChange={(e) => void changeNotify(e.currentTarget.value as "all" | "mentions" | "none")}>
            <option value="all">All messages</option>
            <option value="mentions">Mentions only</option>
            <option value="none">Nothing</option>
          </select>
        </label>
        <button type="button" onClick={() => setShowPins(true)}>
          Pinned
        </button>
        <button type="button" onClick={() => setShowPoll(true)} disabled={props.offline}>
          Poll
        </button>
        <button type="button" aria-expanded={showNotes} onClick={() => setShowNotes((v) => !v)}>
          Notes
        </button>
        {conv.kind !== "direct" && (
          <button type="button" onClick={() => setShowMembers(true)}>
            Members
          </button>
        )}
      </div>
      {showNotes && !props.offline && (
        <Suspense fallback={<p class="hint">Loading notes…</p>}>
          <NotesPane conversation={conv} me={me} onClose={() => setShowNotes(false)} />
        </Suspense>
      )}
      {error && (
        <p class="error" role="alert">
          {error}{" "}
          <button type="button" class="link" onClick={() => setError("")}>
            Dismiss
          </button>
        </p>
      )}
      <MessageList
        messages={timeline}
        pending={pending.filter((i) => !i.reply_to || i.broadcast)}
        me={me}
        names={props.names}
        hasMore={hasMore}
        loadingOlder={loadingOlder}
        onLoadOlder={loadOlder}
        canModerate={myRole === "owner" || myRole === "admin"}
        onError={setError}
        onReacted={(seq, r) => applyReaction(seq, r.reaction, r.count, r.me)}
        onOpenThread={setThreadRoot}
        usernames={usernames}
        onPin={canPin ? pin : undefined}
      />
      {showPoll && <PollDialog conv={conv.id} onClose={() => setShowPoll(false)} />}
      {showPins && (
        <PinnedDialog
          conv={conv.id}
          version={pinsVersion}
          names={props.names}
          me={me}
          onClose={() => setShowPins(false)}
          onShow={(seq) => {
            const el = document.getElementById(`message-${seq}`);
            if (el) {
              el.scrollIntoView({ block: "center" });
              el.focus();
            }
          }}
        />
      )}
      {root && (
        <ThreadPanel
          conv={conv.id}
          title={title}
          root={root}
          replies={replies}
          pending={pending.filter((i) => i.reply_to === root.seq)}
          me={me}
          names={props.names}
          canModerate={myRole === "owner" || myRole === "admin"}
          onError={setError}
          onReacted={(seq, r) => applyReaction(seq, r.reaction, r.count, r.me)}
          onClose={closeThread}
          members={mentionable}
          usernames={usernames}
          canMentionAll={canMentionAll}
        />
      )}
      <div class="below-list">
        <p class="typing" aria-live="polite" data-testid="typing">
          {typers.length ? `${typers.join(", ")} ${typers.length > 1 ? "are" : "is"} typing…` : ""}
        </p>
        {seenBy.length > 0 ? (
          <p class="seen" data-testid="seen-by">
            Seen by {seenBy.join(", ")}
          </p>
        ) : myLastSeq > 0 && others.length > 0 ? (
          <p class="seen" data-testid="delivery">
            {deliveredTo === 0 ? "Sent" : deliveredTo === others.length ? "Delivered" : `Delivered to ${deliveredTo} of ${others.length}`}
          </p>
        ) : null}
      </div>
      <MessageComposer conv={conv.id} title={title} members={mentionable} canMentionAll={canMentionAll} />
      {showMembers && <MembersDialog conversation={conv} me={me} members={members} myRole={myRole} onChanged={loadMembers} onClose={() => setShowMembers(false)} />}
    </section>
  );
}

/**
 * Moves a root's reply summary for a reply the map has just taken in (had: what it
 * held for that seq before): counted once, a reply the summary already covers not
 * again (a page read after it was sent), a deleted one taken off.
 */
function countReply(next: Map<number, Message>, m: Message, had: Message | undefined) {
  const root = next.get(m.reply_to!);
  if (!root) return;
  const t = root.thread ?? { reply_count: 0, last_reply_seq: 0, last_reply_at: 0, participants: [] };
  if (!had && !m.deleted && m.seq > t.last_reply_seq) {
    const participants = t.participants.includes(m.sender_id) || t.participants.length >= 5 ? t.participants : [...t.participants, m.sender_id];
    next.set(root.seq, { ...root, thread: { reply_count: t.reply_count + 1, last_reply_seq: m.seq, last_reply_at: m.created_at, participants } });
  } else if (had && !had.deleted && m.deleted && root.thread) {
    next.set(root.seq, { ...root, thread: { ...t, reply_count: Math.max(0, t.reply_count - 1) } });
  }
}

/** Keeps a scroll container pinned to the bottom while the user is there. */
export function useStickToBottom(dep: unknown) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [dep]);
  const onScroll = () => {
    const el = ref.current;
    if (el) atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  return { ref, onScroll };
}
