import type { User } from "@parley/sdk";
import { ParleyError } from "@parley/sdk";
import { client } from "../client";

/** Finds a user by exact username; null when there is none. */
export async function findUser(username: string): Promise<User | null> {
  try {
    return (await client.api("get", "/api/users", { query: { username: username.trim().toLowerCase() } })) as User;
  } catch (e) {
    if (e instanceof ParleyError && e.status === 404) return null;
    throw e;
  }
}

/** Users whose username or name starts with q (for suggestions). */
export async function searchUsers(q: string): Promise<User[]> {
  const query = q.trim();
  if (!query) return [];
  const result = (await client.api("get", "/api/users", { query: { q: query, limit: 8 } })) as { users: User[] };
  return result.users;
}
