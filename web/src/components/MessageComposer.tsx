import { useRef, useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { ErrorText } from "./ErrorText";

export function MessageComposer(props: { conv: string; title: string }) {
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const lastTyping = useRef(0);

  const send = async () => {
    const body = text.trim();
    if (!body) return;
    setText("");
    setError("");
    try {
      // Kept in the outbox until acknowledged, even across a reload.
      await client.send(props.conv, body);
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
      <label for="composer" class="visually-hidden">
        Message {props.title}
      </label>
      <textarea
        id="composer"
        rows={1}
        placeholder={`Message ${props.title}`}
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
        aria-describedby="composer-hint"
      />
      <button type="submit" class="primary" disabled={!text.trim()}>
        Send
      </button>
      <p id="composer-hint" class="visually-hidden">
        Enter sends; Shift+Enter starts a new line.
      </p>
      <ErrorText text={error} />
    </form>
  );
}
