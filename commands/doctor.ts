import { Command } from "@commander-js/extra-typings";

/** `ssd doctor` — being built; see the issue tracker. */
export function doctorCommand() {
  return new Command("doctor").description("(in progress)");
}
