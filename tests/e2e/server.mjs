// The real parley binary for the browser tests: a fresh data directory,
// port 0 first (then the same port again after a restart), stopped by PID.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class Parley {
  constructor(bin, settings = {}) {
    this.bin = bin;
    this.settings = settings;
    this.port = 0;
    this.proc = null;
    this.dataDir = mkdtempSync(join(tmpdir(), "parley-e2e-"));
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    const args = ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--data-dir", this.dataDir];
    for (const [k, v] of Object.entries(this.settings)) args.push("--set", `${k}=${v}`);
    const proc = spawn(this.bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    this.port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("parley did not start in 30 s")), 30_000);
      let buf = "";
      const onData = (chunk) => {
        buf += chunk;
        for (let nl; (nl = buf.indexOf("\n")) >= 0; ) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.startsWith("{")) continue;
          try {
            const ev = JSON.parse(line);
            if (ev.event === "listening") {
              clearTimeout(timer);
              resolve(ev.port);
            }
          } catch {}
        }
      };
      proc.stdout.on("data", onData);
      proc.stderr.on("data", onData);
      proc.on("exit", (code) => reject(new Error(`parley exited with ${code}`)));
    });
    return this;
  }

  async signal(sig) {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill(sig);
    await exited;
    this.proc = null;
  }

  async cleanup() {
    await this.signal("SIGTERM");
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function api(base, method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
