import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// The app is served by parley itself (embedded at build time); `npm run dev`
// proxies the API and the WebSocket to a local server on :8080.
export default defineConfig({
  plugins: [preact()],
  build: {
    target: "es2020",
    assetsDir: "assets",
    sourcemap: false,
    modulePreload: { polyfill: false },
    // Chunks named by content hash: served immutable for a year.
    rollupOptions: { output: { entryFileNames: "assets/[name]-[hash].js", chunkFileNames: "assets/[name]-[hash].js", assetFileNames: "assets/[name]-[hash][extname]" } },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/ws": { target: "ws://127.0.0.1:8080", ws: true } },
  },
});
