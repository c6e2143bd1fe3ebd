/**
 * A whitelist unpickler: reads the subset of Python's pickle format (protocols 2–5) that
 * `torch.save(state_dict)` writes, and nothing more. It never runs code: a pickle global is
 * looked up in a table the caller gives (`globals`), and any other global — `os.system`,
 * `builtins.eval`, an arbitrary class's `__reduce__` — stops the load with a `FileError`.
 *
 * Python values map to JS as: `None` → `null`, `bool` → `boolean`, `int` → `number` (or
 * `bigint` past 2^53), `float` → `number`, `str` → `string`, `bytes` → `Uint8Array`, tuples and
 * lists → arrays, dicts (and `OrderedDict`, when whitelisted) → `Map`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unpickle } from "./pickle.ts";
 * // pickle.dumps({"a": (1, 2.5)}, protocol=2)
 * const bytes = new Uint8Array([
 *   0x80, 2, 0x7d, 0x71, 0, 0x58, 1, 0, 0, 0, 0x61, 0x71, 1, 0x4b, 1,
 *   0x47, 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0x86, 0x71, 2, 0x73, 0x2e,
 * ]);
 * const { value } = unpickle(bytes, { file: "mem.pkl" });
 * assert.deepEqual(value, new Map([["a", [1, 2.5]]]));
 * // a global the caller did not whitelist is refused, never called
 * const evil = new TextEncoder().encode("cos\nsystem\n(S'echo hi'\ntR.");
 * assert.throws(() => unpickle(evil, { file: "evil.pkl" }), /references os\.system/);
 * ```
 *
 * @module
 */
import { FileError } from "../errors.ts";

/** A whitelisted callable: receives the REDUCE arguments, returns the built value. */
export type PickleGlobal = (args: unknown[]) => unknown;

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** File name for error messages. */
  file: string;
  /** Allowed globals by `"module.name"`; every other global is refused. */
  globals?: Record<string, PickleGlobal>;
  /** Resolves a persistent id (torch uses them for storages); refused when absent. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Where to start reading (several pickles may follow one another). */
  offset?: number;
}

/**
 * A whitelisted global as it sits on the stack before REDUCE calls it (torch also passes
 * storage classes such as `torch.FloatStorage` inside persistent ids, uncalled).
 */
export class GlobalRef {
  constructor(readonly qualname: string, readonly fn: PickleGlobal) {}
}

/**
 * Unpickles one pickle from `bytes`, starting at `options.offset`.
 *
 * @returns the value and the offset just past its STOP opcode
 * @throws FileError on a refused global, an unsupported opcode, or truncated data
 */
export function unpickle(
  bytes: Uint8Array,
  options: UnpickleOptions,
): { value: unknown; end: number } {
  const { file, globals = {}, persistentLoad } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (reason: string): never => {
    throw new FileError(file, reason);
  };
  let pos = options.offset ?? 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`truncated pickle: needed ${n} bytes at offset ${pos}`);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), pos += 2, view.getUint16(pos - 2, true));
  const i32 = () => (need(4), pos += 4, view.getInt32(pos - 4, true));
  const u32 = () => (need(4), pos += 4, view.getUint32(pos - 4, true));
  const u64 = () => (need(8), pos += 8, Number(view.getBigUint64(pos - 8, true)));
  const take = (n: number) => (need(n), pos += n, bytes.subarray(pos - n, pos));
  const utf8 = (n: number) => new TextDecoder().decode(take(n));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`truncated pickle: unterminated line at offset ${pos}`);
    const s = new TextDecoder().decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };

  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const pop = () => (stack.length === 0 ? fail("malformed pickle: stack underflow") : stack.pop());
  const top = () => (stack.length === 0 ? fail("malformed pickle: empty stack") : stack.at(-1));
  const popMark = (): unknown[] => {
    const at = marks.pop();
    if (at === undefined) fail("malformed pickle: no MARK");
    return stack.splice(at!);
  };
  const findGlobal = (module: string, name: string) => {
    const qualname = `${module}.${name}`;
    const fn = Object.hasOwn(globals, qualname) ? globals[qualname] : undefined;
    if (fn === undefined) {
      fail(`refusing to load: the pickle references ${qualname}, which a state dict never uses`);
    }
    return new GlobalRef(qualname, fn!);
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) fail("malformed pickle: SETITEM on a non-dict");
    for (let i = 0; i + 1 < items.length; i += 2) {
      (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
    }
  };
  const appendItems = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) fail("malformed pickle: APPEND on a non-list");
    (target as unknown[]).push(...items);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("unsupported pickle protocol (above 5)");
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length > 0 && marks.at(-1) === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x49: { // INT (text; "01"/"00" are True/False)
        const s = line();
        stack.push(s === "01" ? true : s === "00" ? false : parseIntSafe(s, fail));
        break;
      }
      case 0x4c: // LONG (text, trailing L)
        stack.push(parseIntSafe(line().replace(/L$/, ""), fail));
        break;
      case 0x8a: // LONG1
        stack.push(longLE(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(longLE(take(u32())));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(parseFloat(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(new TextDecoder("latin1").decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(new TextDecoder("latin1").decode(take(u8())));
        break;
      case 0x53: // STRING (text, quoted)
        stack.push(line().replace(/^(['"])(.*)\1$/, "$2"));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT
        memo.set(parseIntSafe(line(), fail) as number, top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : parseIntSafe(line(), fail) as number;
        if (!memo.has(key)) fail(`malformed pickle: memo key ${key} is not set`);
        stack.push(memo.get(key));
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(findGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          fail("malformed pickle: STACK_GLOBAL needs two strings");
        }
        stack.push(findGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof GlobalRef)) {
          fail("refusing to load: REDUCE on a value that is not a whitelisted global");
        }
        if (!Array.isArray(args)) fail("malformed pickle: REDUCE arguments are not a tuple");
        stack.push((fn as GlobalRef).fn(args as unknown[]));
        break;
      }
      case 0x62: { // BUILD: only dicts (OrderedDict's `_metadata` attribute) accept state
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map)) {
          fail("refusing to load: BUILD (setting object state) on something other than a dict");
        }
        void state; // attributes of an OrderedDict (torch's `_metadata`) are not needed
        break;
      }
      case 0x51: // BINPERSID
      case 0x50: { // PERSID
        const pid = op === 0x51 ? pop() : line();
        if (persistentLoad === undefined) fail("refusing to load: the pickle uses persistent ids");
        stack.push(persistentLoad!(pid));
        break;
      }
      default:
        fail(
          `refusing to load: pickle opcode 0x${
            op.toString(16).padStart(2, "0")
          } at offset ${at} is not one a state dict uses`,
        );
    }
  }
}

function parseIntSafe(s: string, fail: (r: string) => never): number | bigint {
  if (!/^-?\d+$/.test(s.trim())) fail(`malformed pickle: bad integer ${JSON.stringify(s)}`);
  const big = BigInt(s.trim());
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : big;
}

/** Python's two's-complement little-endian long (LONG1/LONG4). */
function longLE(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}
