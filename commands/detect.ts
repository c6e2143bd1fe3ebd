import { Command } from "@commander-js/extra-typings";

/** `ssd detect` — being built; see the issue tracker. */
export function detectCommand() {
  return new Command("detect").description("(in progress)");
}
