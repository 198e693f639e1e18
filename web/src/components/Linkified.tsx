// Message bodies are text, never HTML: they are rendered as text nodes, and
// only http(s) URLs become links (opened safely in a new tab).
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

export function Linkified(props: { text: string }) {
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
          p
        ) : (
          <a key={i} href={p.url} target="_blank" rel="noopener noreferrer">
            {p.url}
          </a>
        ),
      )}
    </>
  );
}
