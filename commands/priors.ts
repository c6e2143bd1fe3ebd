import { Command } from "@commander-js/extra-typings";

/** `ssd priors` — being built. */
export function priorsCommand() {
  return new Command("priors").description("(in progress)");
}
