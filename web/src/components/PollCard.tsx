import type { Message, Poll, User } from "@parley/sdk";
import { useEffect, useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";

/**
 * A poll message: its options as radio buttons (single choice) or checkboxes,
 * the results as bars, live from `poll` events; vote, change, retract, add an
 * option where allowed, close (its creator or an admin).
 */
export function PollCard(props: { message: Message; me: User; canModerate: boolean; onError(text: string): void }) {
  const m = props.message;
  const [poll, setPoll] = useState<Poll | null>((m.poll as Poll | undefined)?.voters !== undefined ? (m.poll as Poll) : null);
  const [choice, setChoice] = useState<number[]>([]);
  const [adding, setAdding] = useState("");
  useEffect(() => {
    let alive = true;
    if (!poll) {
      client
        .poll(m.conversation_id, m.seq)
        .then((p) => alive && setPoll(p))
        .catch((e) => alive && props.onError(problemText(e)));
    }
    const off = client.on("poll", (ev) => {
      if (ev.conv !== m.conversation_id || ev.poll.seq !== m.seq) return;
      // Events carry no one's own votes: keep mine.
      setPoll((old) =>
        old
          ? {
              ...old,
              ...ev.poll,
              options: ev.poll.options.map((o) => ({ ...old.options.find((x) => x.id === o.id), ...o, me: old.options.find((x) => x.id === o.id)?.me ?? false })),
            }
          : old,
      );
    });
    return () => {
      alive = false;
      off();
    };
  }, [m.conversation_id, m.seq]);

  useEffect(() => {
    if (poll) setChoice(poll.options.filter((o) => o.me).map((o) => o.id));
  }, [poll?.options.map((o) => `${o.id}:${o.me}`).join(",")]);

  if (!poll) return <p class="hint">Loading poll…</p>;
  const single = poll.max_votes === 1;
  const mine = poll.options.some((o) => o.me);
  const total = Math.max(1, poll.options.reduce((n, o) => n + o.votes, 0));
  const name = `poll-${m.conversation_id}-${m.seq}`;
  const act = async (fn: () => Promise<Poll>) => {
    try {
      setPoll(await fn());
    } catch (e) {
      props.onError(problemText(e));
    }
  };
  return (
    <form
      class="poll"
      data-testid="poll"
      aria-label={`Poll: ${poll.question}`}
      onSubmit={(e) => {
        e.preventDefault();
        void act(() => client.vote(m.conversation_id, m.seq, choice));
      }}
    >
      <fieldset disabled={poll.closed}>
        <legend>
          {poll.question} <span class="hint">{poll.closed ? "(closed)" : single ? "(choose one)" : `(up to ${poll.max_votes})`}</span>
        </legend>
        {poll.options.map((o) => (
          <label key={o.id} class="poll-option">
            <input
              type={single ? "radio" : "checkbox"}
              name={name}
              checked={choice.includes(o.id)}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                setChoice((c) => (single ? [o.id] : on ? [...c, o.id] : c.filter((x) => x !== o.id)));
              }}
            />{" "}
            {o.text}
            <span class="poll-votes" data-testid="poll-votes">
              {o.votes} {o.votes === 1 ? "vote" : "votes"}
            </span>
            <span class="poll-bar" style={{ width: `${Math.round((o.votes / total) * 100)}%` }} aria-hidden="true" />
          </label>
        ))}
        <div class="row">
          <button type="submit" disabled={choice.length === 0 || choice.length > poll.max_votes}>
            {mine ? "Change vote" : "Vote"}
          </button>
          {mine && (
            <button type="button" onClick={() => void act(() => client.vote(m.conversation_id, m.seq, []))}>
              Retract
            </button>
          )}
          {(poll.created_by === props.me.id || props.canModerate) && (
            <button type="button" onClick={() => void act(() => client.closePoll(m.conversation_id, m.seq))}>
              Close poll
            </button>
          )}
        </div>
        {(poll.open_options || poll.created_by === props.me.id) && (
          <div class="row">
            <label class="visually-hidden" for={`${name}-add`}>
              New option for {poll.question}
            </label>
            <input id={`${name}-add`} value={adding} maxLength={200} placeholder="Add an option" onInput={(e) => setAdding(e.currentTarget.value)} />
            <button
              type="button"
              disabled={!adding.trim()}
              onClick={() => {
                const text = adding.trim();
                setAdding("");
                void act(() => client.addPollOption(m.conversation_id, m.seq, text));
              }}
            >
              Add
            </button>
          </div>
        )}
      </fieldset>
      <p class="hint" aria-live="polite">
        {poll.voters} {poll.voters === 1 ? "person" : "people"} voted{poll.anonymous ? " (anonymous)" : ""}
      </p>
    </form>
  );
}
