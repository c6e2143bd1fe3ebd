import { Command } from "@commander-js/extra-typings";

/** `ssd data` — being built; see the issue tracker. */
export function dataCommand() {
  return new Command("data").description("(in progress)");
}
