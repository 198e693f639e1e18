/** An error said at once to screen readers (role=alert); nothing when there is none. */
export function ErrorText(props: { text: string }) {
  if (!props.text) return null;
  return (
    <p class="error" role="alert">
      {props.text}
    </p>
  );
}
