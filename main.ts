/**
 * `ssd`: the command tree. Declares the commands and the global flags, maps errors to exit
 * codes, nothing else. Each command's heavy code is imported lazily inside its action, so
 * `ssd --help` is instant.
 *
 * Exit codes: 0 ok, 1 failure (a bad file, a NaN loss), 2 usage.
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { FileError, UsageError } from "./lib/errors.ts";
import { priorsCommand } from "./commands/priors.ts";
import { evalCommand } from "./commands/eval.ts";
import { dataCommand } from "./commands/data.ts";
import { detectCommand } from "./commands/detect.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { trainCommand } from "./commands/train.ts";
import { exportCommand } from "./commands/export.ts";

const VERSION = "0.1.0";

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
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    if (err instanceof FileError) {
      console.error(`error: ${err.file}: ${err.reason}`);
      return 1;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
