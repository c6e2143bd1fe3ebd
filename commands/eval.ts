import { Command } from "@commander-js/extra-typings";

/** `ssd eval` — being built; see the issue tracker. */
export function evalCommand() {
  return new Command("eval").description("(in progress)");
}
