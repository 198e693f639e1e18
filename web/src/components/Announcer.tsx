// The polite live region: new messages and outcomes are read out by screen
// readers without moving focus.
import { useEffect, useState } from "preact/hooks";

let push: ((text: string) => void) | null = null;

export function announce(text: string): void {
  push?.(text);
}

export function Announcer() {
  const [text, setText] = useState("");
  useEffect(() => {
    push = (t) => {
      // Clear first so the same text twice is announced twice.
      setText("");
      setTimeout(() => setText(t), 50);
    };
    return () => {
      push = null;
    };
  }, []);
  return (
    <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
      {text}
    </div>
  );
}
