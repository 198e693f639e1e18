// The app's one SDK client (same origin: cookie session, IndexedDB outbox and cache).
import { ParleyClient } from "@parley/sdk";

export const client = new ParleyClient();

// The last account signed in here (id and name only, never a token), so the
// app can open its cached conversations when it starts offline.
const LAST_USER = "parley:last-user";
export function rememberUser(user: { id: string; username: string; display_name: string } | null): void {
  if (user) localStorage.setItem(LAST_USER, JSON.stringify({ id: user.id, username: user.username, display_name: user.display_name }));
  else localStorage.removeItem(LAST_USER);
}
export function lastUser(): { id: string; username: string; display_name: string } | null {
  try {
    const raw = localStorage.getItem(LAST_USER);
    return raw ? (JSON.parse(raw) as { id: string; username: string; display_name: string }) : null;
  } catch {
    return null;
  }
}

addEventListener("online", () => client.reconnectNow());
// Offline: say so at once instead of waiting for the socket to time out; the
// outbox keeps what is sent meanwhile.
addEventListener("offline", () => client.dropConnection());
