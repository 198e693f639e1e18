import { render } from "preact";
import { App } from "./app";
import "./styles.css";

render(<App />, document.getElementById("app") as HTMLElement);

if ("serviceWorker" in navigator) {
  addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch(() => {
      // No offline shell (e.g. plain http on a non-local host); the app still works.
    });
  });
}
