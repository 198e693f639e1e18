import { useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { Dialog } from "./Dialog";
import { ErrorText } from "./ErrorText";

/** Composes a poll: a question, 2 to 20 options, single or multiple choice, anonymity, added options. */
export function PollDialog(props: { conv: string; onClose(): void }) {
  const [question, setQuestion] = useState("");
  const [options, setOptions] = useState(["", ""]);
  const [multiple, setMultiple] = useState(false);
  const [anonymous, setAnonymous] = useState(false);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState("");
  const filled = options.map((o) => o.trim()).filter(Boolean);
  const submit = async () => {
    setError("");
    try {
      await client.send(props.conv, question.trim(), {
        poll: { options: filled, max_votes: multiple ? filled.length : 1, anonymous, open_options: open },
      });
      props.onClose();
    } catch (e) {
      setError(problemText(e));
    }
  };
  return (
    <Dialog title="New poll" onClose={props.onClose}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          Question
          <input value={question} maxLength={2000} required onInput={(e) => setQuestion(e.currentTarget.value)} />
        </label>
        {options.map((o, i) => (
          <div class="row" key={i}>
            <label class="grow">
              Option {i + 1}
              <input value={o} maxLength={200} onInput={(e) => setOptions(options.map((x, j) => (j === i ? e.currentTarget.value : x)))} />
            </label>
            {options.length > 2 && (
              <button type="button" class="link" aria-label={`Remove option ${i + 1}`} onClick={() => setOptions(options.filter((_, j) => j !== i))}>
                Remove
              </button>
            )}
          </div>
        ))}
        {options.length < 20 && (
          <button type="button" onClick={() => setOptions([...options, ""])}>
            Add option
          </button>
        )}
        <label>
          <input type="checkbox" checked={multiple} onChange={(e) => setMultiple(e.currentTarget.checked)} /> Allow several choices
        </label>
        <label>
          <input type="checkbox" checked={anonymous} onChange={(e) => setAnonymous(e.currentTarget.checked)} /> Anonymous votes
        </label>
        <label>
          <input type="checkbox" checked={open} onChange={(e) => setOpen(e.currentTarget.checked)} /> Members may add options
        </label>
        <ErrorText text={error} />
        <div class="row">
          <button type="submit" class="primary" disabled={!question.trim() || filled.length < 2}>
            Send poll
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
