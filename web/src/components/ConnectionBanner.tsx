import type { ConnectionState } from "@parley/sdk";

/** Says, in words, when the app is not live; nothing while connected. */
export function ConnectionBanner(props: { state: ConnectionState; offline: boolean }) {
  const { state } = props;
  if (state === "connected" && !props.offline) return null;
  let text = "Connecting…";
  if (props.offline || !navigator.onLine) text = "You are offline. Showing saved messages; what you send goes out when you are back.";
  else if (state === "disconnected") text = "Reconnecting…";
  else if (state === "closed") text = "Disconnected.";
  return (
    <div class={`banner ${props.offline || !navigator.onLine ? "offline" : ""}`} role="status" data-testid="connection-banner">
      {text}
    </div>
  );
}
