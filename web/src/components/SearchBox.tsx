import type { Conversation } from "@parley/sdk";
import { useState } from "preact/hooks";
import { client } from "../client";
import { formatTime, problemText } from "../hooks";
import { conversationTitle } from "./ConversationList";

type Hit = Awaited<ReturnType<typeof client.search>>["messages"][number];

/**
 * Searches messages (the server's query language: words, "phrases", -excluded,
 * from:, in:, has:, is:, before:/after:/on:); each hit jumps to its message.
 */
export function SearchBox(props: { conversations: Conversation[]; names: Record<string, string>; onOpen(conv: string, seq: number): void }) {
  const [q, setQ] = useState("");
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [error, setError] = useState("");
  const run = async () => {
    setError("");
    try {
      const page = await client.search(q.trim(), { limit: 30 });
      setHits(page.messages);
    } catch (e) {
      setHits(null);
      setError(problemText(e));
    }
  };
  const title = (id: string) => {
    const c = props.conversations.find((x) => x.id === id);
    return c ? conversationTitle(c, props.names) : "a conversation";
  };
  return (
    <div class="search">
      <form
        role="search"
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (q.trim()) void run();
        }}
      >
        <label for="search-messages" class="visually-hidden">
          Search messages
        </label>
        <input id="search-messages" type="search" placeholder="Search messages" value={q} maxLength={512} onInput={(e) => setQ(e.currentTarget.value)} />
        <button type="submit" disabled={!q.trim()}>
          Search
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {hits && (
        <div class="search-results" aria-live="polite">
          <div class="row">
            <p class="hint grow">
              {hits.length === 0 ? "No messages found." : `${hits.length}${hits.length === 30 ? "+" : ""} found`}
            </p>
            <button
              type="button"
              class="link"
              onClick={() => {
                setHits(null);
                setQ("");
              }}
            >
              Clear search
            </button>
          </div>
          <ul data-testid="search-results">
            {hits.map((h) => (
              <li key={h.id}>
                <button type="button" class="search-hit" onClick={() => props.onOpen(h.conversation_id, h.seq)}>
                  <span class="hint">
                    {title(h.conversation_id)} · {formatTime(h.created_at)}
                  </span>
                  <span class="snippet">
                    {h.snippet.map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : p.text))}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
