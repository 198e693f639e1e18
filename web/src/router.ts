// History-mode routes: /, /c/<id>, /account, /admin. The server answers every
// one of them with index.html.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { name: "home" }
  | { name: "conversation"; id: string }
  | { name: "account" }
  | { name: "admin" };

export function parse(path: string): Route {
  const m = /^\/c\/([0-9]+)$/.exec(path);
  if (m?.[1]) return { name: "conversation", id: m[1] };
  if (path === "/account") return { name: "account" };
  if (path === "/admin") return { name: "admin" };
  return { name: "home" };
}

export function href(route: Route): string {
  switch (route.name) {
    case "conversation":
      return `/c/${route.id}`;
    case "account":
      return "/account";
    case "admin":
      return "/admin";
    default:
      return "/";
  }
}

export function navigate(route: Route): void {
  const to = href(route);
  if (location.pathname !== to) history.pushState(null, "", to);
  dispatchEvent(new Event("parley:navigate"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parse(location.pathname));
    addEventListener("popstate", update);
    addEventListener("parley:navigate", update);
    return () => {
      removeEventListener("popstate", update);
      removeEventListener("parley:navigate", update);
    };
  }, []);
  return route;
}

/** A link that navigates without a reload (and still works as a plain link). */
export function onLinkClick(route: Route) {
  return (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(route);
  };
}
