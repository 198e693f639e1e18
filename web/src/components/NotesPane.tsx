// A conversation's shared notes: one Y.Text edited by every member at once
// over y-websocket (document "conversation.<id>"), bound to a textarea.
// Loaded lazily (yjs and y-websocket stay out of the initial load).
import type { Conversation, User } from "@parley/sdk";
import { keepCollabTokenFresh } from "@parley/sdk";
import { useEffect, useRef, useState } from "preact/hooks";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { client } from "../client";
import { problemText } from "../hooks";

type Status = "connecting" | "connected" | "disconnected";

// The edit that turns `from` into `to`: one replaced span, found from both ends.
export function diffText(from: string, to: string): { at: number; remove: number; insert: string } {
  let start = 0;
  const max = Math.min(from.length, to.length);
  while (start < max && from.charCodeAt(start) === to.charCodeAt(start)) start++;
  let end = 0;
  while (end < max - start && from.charCodeAt(from.length - 1 - end) === to.charCodeAt(to.length - 1 - end)) end++;
  return { at: start, remove: from.length - start - end, insert: to.slice(start, to.length - end) };
}

// Where a caret at `pos` goes when a remote change (a Yjs delta) lands.
export function moveThrough(delta: { retain?: number; insert?: unknown; delete?: number }[], pos: number): number {
  let at = 0;
  let out = pos;
  for (const op of delta) {
    if (op.retain) at += op.retain;
    else if (typeof op.insert === "string") {
      if (at <= pos) out += op.insert.length;
      at += op.insert.length;
    } else if (op.delete) {
      if (at < pos) out -= Math.min(op.delete, pos - at);
    }
  }
  return Math.max(0, out);
}

export function NotesPane(props: { conversation: Conversation; me: User; onClose(): void }) {
  const area = useRef<HTMLTextAreaElement>(null);
  const text = useRef<Y.Text | null>(null);
  const [status, setStatus] = useState<Status>("connecting");
  const [synced, setSynced] = useState(false);
  const [others, setOthers] = useState<string[]>([]);
  const [error, setError] = useState("");
  const conv = props.conversation.id;

  useEffect(() => {
    const doc = new Y.Doc();
    const ytext = doc.getText("notes");
    text.current = ytext;
    const provider = new WebsocketProvider(client.collabUrl, `conversation.${conv}`, doc, { connect: false, disableBc: true });
    const me = props.me;
    provider.awareness.setLocalStateField("user", { id: me.id, name: me.display_name || me.username });
    provider.on("status", (e: { status: Status }) => setStatus(e.status));
    provider.on("sync", (s: boolean) => {
      setSynced(s);
      if (s && area.current && area.current.value !== ytext.toString()) area.current.value = ytext.toString();
    });
    provider.on("closed", (e: { code: number; reason: string }) => setError(`Notes unavailable: ${e.reason || e.code}`));
    const observer = (ev: Y.YTextEvent, tr: Y.Transaction) => {
      const el = area.current;
      if (!el || tr.origin === "local") return;
      const delta = ev.delta as { retain?: number; insert?: unknown; delete?: number }[];
      const focused = document.activeElement === el;
      const [s, e] = [moveThrough(delta, el.selectionStart), moveThrough(delta, el.selectionEnd)];
      el.value = ytext.toString();
      if (focused) el.setSelectionRange(s, e);
    };
    ytext.observe(observer);
    const names = () => {
      const list: string[] = [];
      provider.awareness.getStates().forEach((state, clientId) => {
        const user = (state as { user?: { id?: string; name?: string } }).user;
        if (clientId !== doc.clientID && user?.name && user.id !== me.id) list.push(user.name);
      });
      setOthers([...new Set(list)].sort());
    };
    provider.awareness.on("change", names);
    let stop: (() => void) | null = null;
    let gone = false;
    keepCollabTokenFresh(client, provider, { onError: (e) => setError(problemText(e)) })
      .then((s) => {
        if (gone) return s();
        stop = s;
        provider.connect();
      })
      .catch((e) => setError(problemText(e)));
    return () => {
      gone = true;
      stop?.();
      ytext.unobserve(observer);
      provider.destroy();
      doc.destroy();
      text.current = null;
    };
  }, [conv]);

  const onInput = () => {
    const el = area.current;
    const ytext = text.current;
    if (!el || !ytext) return;
    const { at, remove, insert } = diffText(ytext.toString(), el.value);
    ytext.doc?.transact(() => {
      if (remove) ytext.delete(at, remove);
      if (insert) ytext.insert(at, insert);
    }, "local");
  };

  const state = !synced ? (status === "connected" ? "Loading…" : status === "connecting" ? "Connecting…" : "Offline: edits are kept and sent when back") : "Saved as you type";
  return (
    <aside class="notes" aria-labelledby="notes-title">
      <div class="notes-head">
        <h2 id="notes-title">Shared notes</h2>
        <button type="button" onClick={props.onClose}>
          Close notes
        </button>
      </div>
      <textarea
        ref={area}
        aria-labelledby="notes-title"
        aria-describedby="notes-status"
        data-testid="notes-text"
        rows={8}
        onInput={onInput}
        placeholder="Notes everyone in this conversation can edit"
      />
      <p class="hint" id="notes-status" aria-live="polite" data-testid="notes-status">
        {state}
        {others.length > 0 && ` · also here: ${others.join(", ")}`}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </aside>
  );
}
