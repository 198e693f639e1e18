import { useEffect, useRef, useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { ErrorText } from "./ErrorText";

/** replyTo: the composer of a thread (its root's seq), with "also send to the conversation". */
export function MessageComposer(props: { conv: string; title: string; replyTo?: number; autoFocus?: boolean }) {
  const [text, setText] = useState("");
  const [broadcast, setBroadcast] = useState(false);
  const id = props.replyTo ? "thread-composer" : "composer";
  const [error, setError] = useState("");
  const lastTyping = useRef(0);
  const box = useRef<HTMLTextAreaElement>(null);
  // A thread's composer takes the focus when the thread opens.
  useEffect(() => {
    if (props.autoFocus) box.current?.focus();
  }, [props.replyTo]);

  const send = async () => {
    const body = text.trim();
    if (!body) return;
    setText("");
    setError("");
    try {
      // Kept in the outbox until acknowledged, even across a reload.
      await client.send(props.conv, body, props.replyTo ? { replyTo: props.replyTo, broadcast } : {});
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
      <textarea
        id={id}
        ref={box}
        rows={1}
        placeholder={props.replyTo ? "Reply…" : `Message ${props.title}`}
        value={text}
        maxLength={65536}
        onInput={(e) => {
          setText(e.currentTarget.value);
          const now = Date.now();
          if (now - lastTyping.current > 2500) {
            lastTyping.current = now;
            void client.typing(props.conv);
          }
        }}
        onKeyDown={(e) => {
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
        Enter sends; Shift+Enter starts a new line.
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
