// Message bodies are text, never HTML: they are rendered as text nodes, and
// only http(s) URLs become links (opened safely in a new tab).
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/** highlight: "@name" tokens (mentions) shown marked. */
export function Linkified(props: { text: string; highlight?: string[] }) {
  const parts: (string | { url: string })[] = [];
  let last = 0;
  for (const m of props.text.matchAll(URL_RE)) {
    const start = m.index ?? 0;
    if (start > last) parts.push(props.text.slice(last, start));
    parts.push({ url: m[0] });
    last = start + m[0].length;
  }
  if (last < props.text.length) parts.push(props.text.slice(last));
  return (
    <>
      {parts.map((p, i) =>
        typeof p === "string" ? (
          <Marked key={i} text={p} tokens={props.highlight} />
        ) : (
          <a key={i} href={p.url} target="_blank" rel="noopener noreferrer">
            {p.url}
          </a>
        ),
      )}
    </>
  );
}

/** s with every RegExp metacharacter taken literally. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function Marked(props: { text: string; tokens?: string[] }) {
  const tokens = props.tokens?.filter((t) => t.length > 1);
  if (!tokens?.length) return <>{props.text}</>;
  const escaped = tokens.map(escapeRegExp);
  const re = new RegExp(`(${escaped.join("|")})(?![\\w.-])`, "g");
  const out: (string | { mention: string })[] = [];
  let last = 0;
  for (const m of props.text.matchAll(re)) {
    const start = m.index ?? 0;
    if (start > last) out.push(props.text.slice(last, start));
    out.push({ mention: m[0] });
    last = start + m[0].length;
  }
  if (last < props.text.length) out.push(props.text.slice(last));
  return (
    <>
      {out.map((p, i) =>
        typeof p === "string" ? (
          p
        ) : (
          <mark key={i} class="mention">
            {p.mention}
          </mark>
        ),
      )}
    </>
  );
}
