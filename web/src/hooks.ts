import type { ConnectionState } from "@parley/sdk";
import { useEffect, useState } from "preact/hooks";
import { client } from "./client";

export function useConnectionState(): ConnectionState {
  const [state, setState] = useState<ConnectionState>(client.state);
  useEffect(() => client.on("state", (next) => setState(next)), []);
  return state;
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

export function problemText(e: unknown): string {
  if (e && typeof e === "object" && "detail" in e && typeof (e as { detail: unknown }).detail === "string") {
    const detail = (e as { detail: string; status?: number }).detail;
    if ((e as { status?: number }).status === 0) return "The server cannot be reached. Check your connection.";
    return detail;
  }
  return String(e);
}
