/**
 * The driver's handle on one long-lived worker process (see `protocol.ts`): start it, wait for
 * its hello, send requests one at a time, stop it. A worker that dies fails every pending and
 * later request with the last lines of its stderr.
 *
 * @module
 */
import { readLines, type Reply, REPLY_PREFIX } from "./protocol.ts";

/** A running worker. */
export class WorkerProcess {
  readonly name: string;
  /** The worker's first answer (versions, what it can run), or its failure. */
  readonly hello: Promise<Reply>;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #waiting: ((r: Reply) => void)[] = [];
  #stderrTail: string[] = [];
  #dead: string | null = null;

  constructor(name: string, command: string, args: string[], env?: Record<string, string>) {
    this.name = name;
    this.#child = new Deno.Command(command, {
      args,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.hello = new Promise((resolve) => this.#waiting.push(resolve));
    Promise.all([this.#pumpStdout(), this.#pumpStderr()]).then(() => this.#die("exited"));
  }

  async #pumpStdout(): Promise<void> {
    for await (const line of readLines(this.#child.stdout)) {
      if (!line.startsWith(REPLY_PREFIX)) continue;
      this.#waiting.shift()?.(JSON.parse(line.slice(REPLY_PREFIX.length)) as Reply);
    }
  }

  async #pumpStderr(): Promise<void> {
    for await (const line of readLines(this.#child.stderr)) {
      if (line.trim()) this.#stderrTail = [...this.#stderrTail.slice(-4), line.trim()];
    }
  }

  #die(how: string): void {
    this.#dead ??= `${this.name} ${how}: ${this.#stderrTail.at(-1) ?? "no message"}`;
    for (const resolve of this.#waiting.splice(0)) resolve({ error: this.#dead });
  }

  /** Sends one request and waits for its answer. */
  async call(request: Record<string, unknown>): Promise<Reply> {
    if (this.#dead !== null) return { error: this.#dead };
    const answer = new Promise<Reply>((resolve) => this.#waiting.push(resolve));
    try {
      await this.#stdin.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    } catch {
      this.#die("stopped reading");
    }
    return await answer;
  }

  /** Closes its stdin (the worker exits) and waits for the process. */
  async close(): Promise<void> {
    try {
      await this.#stdin.close();
    } catch { /* already gone */ }
    await this.#child.status;
  }
}
