// Starts the real parley binary (PARLEY_BIN) for integration tests: a fresh
// data directory, port 0 (or a given one, to restart in place), stopped by PID.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BIN = process.env.PARLEY_BIN ?? "";

export class TestServer {
  proc: ChildProcess | null = null;
  port = 0;
  readonly dataDir: string;

  constructor(readonly settings: Record<string, string> = {}) {
    this.dataDir = mkdtempSync(join(tmpdir(), "parley-sdk-"));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const args = ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--data-dir", this.dataDir];
    for (const [k, v] of Object.entries(this.settings)) args.push("--set", `${k}=${v}`);
    const proc = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("parley did not start in 30 s")), 30_000);
      let buffer = "";
      const onData = (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (!line.startsWith("{")) continue;
          try {
            const ev = JSON.parse(line) as { event?: string; port?: number };
            if (ev.event === "listening" && ev.port) {
              clearTimeout(timer);
              resolve(ev.port);
            }
          } catch {
            // not a log line
          }
        }
      };
      proc.stdout?.on("data", onData);
      proc.stderr?.on("data", onData);
      proc.on("exit", (code) => reject(new Error(`parley exited with ${code} before listening`)));
    });
    this.port = port;
    return this;
  }

  /** SIGKILL: no drain, no goodbye. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  async stop(): Promise<void> {
    await this.signal("SIGTERM");
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(sig);
    await exited;
    this.proc = null;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
