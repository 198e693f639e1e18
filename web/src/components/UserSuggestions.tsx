// Suggestions for a username field: a native <datalist> of people whose
// username or name starts with what was typed (the last word, for a list).
import type { User } from "@parley/sdk";
import { useEffect, useState } from "preact/hooks";
import { searchUsers } from "./users";

export function useUserSuggestions(text: string, exclude: string): User[] {
  const [found, setFound] = useState<User[]>([]);
  useEffect(() => {
    const word = text.split(/[\s,]+/).pop() ?? "";
    if (word.length < 1) {
      setFound([]);
      return;
    }
    const t = setTimeout(() => {
      searchUsers(word)
        .then((users) => setFound(users.filter((u) => u.id !== exclude)))
        .catch(() => setFound([]));
    }, 150);
    return () => clearTimeout(t);
  }, [text, exclude]);
  return found;
}

export function UserSuggestions(props: { id: string; users: User[]; prefix: string }) {
  return (
    <datalist id={props.id}>
      {props.users.map((u) => (
        <option key={u.id} value={props.prefix + u.username}>
          {u.display_name}
        </option>
      ))}
    </datalist>
  );
}
