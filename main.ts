/**
 * `ssd`: the command tree. Declares the commands and the global flags, maps errors to exit
 * codes, nothing else. Each command's heavy code is imported lazily inside its action, so
 * `ssd --help` is instant.
 *
 * Exit codes: 0 ok, 1 failure (a bad file, a NaN loss), 2 usage.
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { displayPath, FileError, oneLine, UsageError } from "./lib/errors.ts";
import { priorsCommand } from "./commands/priors.ts";
import { evalCommand } from "./commands/eval.ts";
import { dataCommand } from "./commands/data.ts";
import { detectCommand } from "./commands/detect.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { trainCommand } from "./commands/train.ts";
import { exportCommand } from "./commands/export.ts";
import denoJson from "./deno.json" with { type: "json" };

/** The package version, from deno.json (one place to bump). */
const VERSION: string = denoJson.version;

/** Builds the whole command tree; exported so tests can parse without spawning. */
export function buildProgram(): Command {
  const program = new Command("ssd")
    .description("Single Shot MultiBox Detector toolkit: priors, data, train, detect, eval, export")
    .version(VERSION)
    .option("--debug", "print stack traces on errors")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (
    const command of [
      priorsCommand(),
      dataCommand(),
      trainCommand(),
      detectCommand(),
      evalCommand(),
      exportCommand(),
      doctorCommand(),
    ]
  ) {
    program.addCommand(command as unknown as Command);
  }
  // Subcommands throw instead of exiting, so one place maps every error to its exit code.
  const override = (cmd: Command) => {
    cmd.exitOverride();
    for (const sub of cmd.commands) override(sub as Command);
  };
  override(program);
  return program;
}

/**
 * The one line an error prints: `error: <file>: <what is wrong>` for a bad file (also for an
 * OS error that escaped the library's own checks, without its `(os error N)` wording), or
 * `error: <message>`.
 */
export function errorLine(err: unknown): string {
  if (err instanceof FileError) return `error: ${err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  // Deno's file-system errors: `No such file or directory (os error 2): readfile '/a/b'`.
  const os = /^(.*?) \(os error \d+\)(?:: \w+ '(.*)')?/s.exec(message);
  if (os !== null) {
    const why = os[1].charAt(0).toLowerCase() + os[1].slice(1);
    return os[2] === undefined
      ? `error: ${oneLine(why)}`
      : `error: ${displayPath(os[2])}: ${oneLine(why)}`;
  }
  return `error: ${oneLine(message)}`;
}

async function main(args: string[]): Promise<number> {
  const debug = args.includes("--debug");
  const program = buildProgram();
  try {
    await program.parseAsync(args, { from: "user" });
    // A command that reported per-file errors and went on sets Deno.exitCode to 1.
    return Deno.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message (help, version, or a usage error).
      // --help and --version exit 0; a missing command (help shown on stderr) is a usage error.
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
      return err.exitCode === 0 ? 0 : 2;
    }
    if (debug && err instanceof Error) console.error(err.stack);
    console.error(errorLine(err));
    return err instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  // An error that escapes every await (a worker's, a forgotten promise's) is still one line
  // and exit 1, never Deno's "Uncaught" report with a stack trace.
  const uncaught = (event: ErrorEvent | PromiseRejectionEvent) => {
    event.preventDefault();
    const err = "reason" in event ? event.reason : event.error ?? event.message;
    if (Deno.args.includes("--debug") && err instanceof Error) console.error(err.stack);
    console.error(errorLine(err));
    Deno.exit(err instanceof UsageError ? 2 : 1);
  };
  globalThis.addEventListener("unhandledrejection", uncaught);
  globalThis.addEventListener("error", uncaught);
  Deno.exit(await main(Deno.args));
}
