import type { Mentions } from "@parley/sdk";
import { useEffect, useRef, useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { ErrorText } from "./ErrorText";
import { escapeRegExp } from "./Linkified";

/** Someone the composer can @-mention. */
export interface Mentionable {
  user_id: string;
  username: string;
  name: string;
}

type Choice = { key: string; label: string; token: string; user_id?: string; flag?: "all" | "here" };

// The "@query" being typed just before the caret, if any.
function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const m = /(^|\s)@([\w.-]{0,32})$/.exec(text.slice(0, caret));
  return m ? { start: caret - (m[2] ?? "").length - 1, query: (m[2] ?? "").toLowerCase() } : null;
}

/**
 * The message box. Typing @ offers the conversation's members (arrow keys,
 * Enter or Tab to pick, Escape to dismiss); what was picked and is still in
 * the text is sent as the message's mentions. replyTo: the composer of a
 * thread (its root's seq), with "also send to the conversation".
 */
export function MessageComposer(props: {
  conv: string;
  title: string;
  replyTo?: number;
  autoFocus?: boolean;
  members?: Mentionable[];
  canMentionAll?: boolean;
}) {
  const [text, setText] = useState("");
  const [broadcast, setBroadcast] = useState(false);
  const id = props.replyTo ? "thread-composer" : "composer";
  const [error, setError] = useState("");
  const [query, setQuery] = useState<{ start: number; query: string } | null>(null);
  const [active, setActive] = useState(0);
  const picked = useRef(new Map<string, Choice>());
  const lastTyping = useRef(0);
  const box = useRef<HTMLTextAreaElement>(null);
  // A thread's composer takes the focus when the thread opens.
  useEffect(() => {
    if (props.autoFocus) box.current?.focus();
  }, [props.replyTo]);

  const choices: Choice[] = [];
  if (query) {
    const q = query.query;
    for (const m of props.members ?? []) {
      if (m.username.toLowerCase().startsWith(q) || m.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q))) {
        choices.push({ key: m.user_id, label: m.name, token: `@${m.username}`, user_id: m.user_id });
      }
      if (choices.length >= 8) break;
    }
    if (props.canMentionAll) {
      for (const flag of ["all", "here"] as const) {
        if (flag.startsWith(q)) {
          choices.push({ key: flag, label: flag === "all" ? "Everyone in the conversation" : "Everyone online", token: `@${flag}`, flag });
        }
      }
    }
  }
  const open = choices.length > 0;
  const listId = `${id}-mentions`;

  const pick = (c: Choice) => {
    const el = box.current;
    if (!el || !query) return;
    const caret = el.selectionStart ?? text.length;
    const next = `${text.slice(0, query.start)}${c.token} ${text.slice(caret)}`;
    picked.current.set(c.token, c);
    setText(next);
    setQuery(null);
    const at = query.start + c.token.length + 1;
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(at, at);
    });
  };

  // The picked mentions whose token is still in the text.
  const mentionsOf = (body: string): Partial<Mentions> => {
    const out: Partial<Mentions> = { user_ids: [] };
    for (const c of picked.current.values()) {
      const escaped = escapeRegExp(c.token);
      if (!new RegExp(`(^|\\s)${escaped}(?![\\w.-])`).test(body)) continue;
      if (c.user_id) out.user_ids!.push(c.user_id);
      if (c.flag) out[c.flag] = true;
    }
    return out;
  };

  const send = async () => {
    const body = text.trim();
    if (!body) return;
    const mentions = mentionsOf(body);
    setText("");
    setError("");
    setQuery(null);
    picked.current.clear();
    try {
      // Kept in the outbox until acknowledged, even across a reload.
      await client.send(props.conv, body, { mentions, ...(props.replyTo ? { replyTo: props.replyTo, broadcast } : {}) });
    } catch (e) {
      setError(problemText(e));
      setText(body);
    }
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <label for={id} class="visually-hidden">
        {props.replyTo ? "Reply" : "Message"} {props.title}
      </label>
      {open && (
        <ul class="mention-list" role="listbox" id={listId} aria-label="Mention someone">
          {choices.map((c, i) => (
            <li
              key={c.key}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(c);
              }}
            >
              {c.label} <span class="hint">{c.token}</span>
            </li>
          ))}
        </ul>
      )}
      <textarea
        id={id}
        ref={box}
        rows={1}
        placeholder={props.replyTo ? "Reply…" : `Message ${props.title}`}
        value={text}
        maxLength={65536}
        aria-autocomplete="list"
        aria-controls={open ? listId : undefined}
        aria-activedescendant={open ? `${listId}-${Math.min(active, choices.length - 1)}` : undefined}
        onInput={(e) => {
          const el = e.currentTarget;
          setText(el.value);
          setQuery(mentionQuery(el.value, el.selectionStart ?? el.value.length));
          setActive(0);
          const now = Date.now();
          if (now - lastTyping.current > 2500) {
            lastTyping.current = now;
            void client.typing(props.conv);
          }
        }}
        onKeyDown={(e) => {
          if (open) {
            if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              const n = choices.length;
              setActive((a) => (a + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
              return;
            }
            if (e.key === "Enter" || e.key === "Tab") {
              e.preventDefault();
              pick(choices[Math.min(active, choices.length - 1)]!);
              return;
            }
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              setQuery(null);
              return;
            }
          }
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void send();
          }
        }}
        aria-describedby={`${id}-hint`}
      />
      <button type="submit" class="primary" disabled={!text.trim()}>
        Send
      </button>
      <p id={`${id}-hint`} class="visually-hidden">
        Enter sends; Shift+Enter starts a new line; @ mentions someone.
      </p>
      {props.replyTo && (
        <label class="broadcast">
          <input type="checkbox" checked={broadcast} onChange={(e) => setBroadcast(e.currentTarget.checked)} /> Also send to {props.title}
        </label>
      )}
      <ErrorText text={error} />
    </form>
  );
}
