/**
 * PASCAL VOC annotation files: the one VOC XML parser of the project, and the image-set lists
 * (`ImageSets/Main/<set>.txt`).
 *
 * Boxes are returned exactly as written: VOC pixels, 1-based and inclusive (`xmin, ymin, xmax,
 * ymax`), possibly fractional, not checked for order. Converting to 0-based continuous pixels
 * (`[xmin - 1, ymin - 1, xmax, ymax]`) is the caller's business.
 *
 * @module
 */
import { FileError } from "../errors.ts";
import { describeFsError } from "../io/read.ts";

/** One `<object>` of a VOC annotation. */
export interface VocObject {
  /** The class name from `<name>`, trimmed. */
  name: string;
  /** `<difficult>` is present and not 0. */
  difficult: boolean;
  /** `<truncated>` is present and not 0. */
  truncated: boolean;
  /** `[xmin, ymin, xmax, ymax]` exactly as written (1-based inclusive pixels; may be float; order not validated). */
  bbox: [number, number, number, number];
}

/** One VOC annotation file. */
export interface VocAnnotation {
  /** The image file name from `<filename>`, trimmed; `""` when absent. */
  filename: string;
  /** Width in pixels from `<size>`; 0 when `<size>` is absent. */
  width: number;
  /** Height in pixels from `<size>`; 0 when `<size>` is absent. */
  height: number;
  /** The `<object>` elements in file order. */
  objects: VocObject[];
}

/** A parsed XML element: tag name, child elements and concatenated text. */
interface XmlElement {
  tag: string;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

/**
 * Replaces XML's five named entities and character references (`&#38;`, `&#x26;`); anything
 * else after a `&` (an unknown entity such as `&foo;`, a bad reference such as `&#xZZ;`, a
 * bare `&`) is not well-formed XML, as Python's ElementTree (which `voc_eval` uses) says too.
 *
 * @returns the decoded text, or a description of the first bad `&`
 */
function decodeEntities(text: string): { text: string } | { error: string; at: number } {
  let out = "";
  let from = 0;
  for (let amp = text.indexOf("&"); amp >= 0; amp = text.indexOf("&", from)) {
    out += text.slice(from, amp);
    const m = /^&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][-A-Za-z0-9_.]*);/.exec(
      text.slice(amp, amp + 40),
    );
    const name = m?.[1];
    let char: string | undefined;
    if (name === undefined) {
      const shown = JSON.stringify(text.slice(amp, amp + 12).split(/[\s<]/)[0]);
      return { error: `${shown} is not an entity (write & as &amp;)`, at: amp };
    } else if (name.startsWith("#")) {
      const code = name[1] === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      const allowed = code === 0x9 || code === 0xa || code === 0xd ||
        (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) ||
        (code >= 0x10000 && code <= 0x10ffff);
      if (!allowed) return { error: `&${name}; is not a valid XML character`, at: amp };
      char = String.fromCodePoint(code);
    } else {
      char = ENTITIES[name];
      if (char === undefined) {
        return {
          error: `unknown entity &${name}; (XML knows &amp; &lt; &gt; &quot; &apos;)`,
          at: amp,
        };
      }
    }
    out += char;
    from = amp + m![0].length;
  }
  return { text: out + text.slice(from) };
}

/** A small well-formedness-checking XML reader (elements and text; enough for VOC files). */
function parseXml(text: string, file: string): XmlElement {
  const root: XmlElement = { tag: "#document", children: [], text: "" };
  const stack: XmlElement[] = [root];
  let i = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, i).split("\n").length;
    throw new FileError(file, `not valid XML: ${what} (line ${line})`);
  };
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = lt < 0 ? text.slice(i) : text.slice(i, lt);
    if (chunk.length > 0) {
      const top = stack[stack.length - 1];
      if (top === root && chunk.trim() !== "") fail("text outside the root element");
      const decoded = decodeEntities(chunk);
      if ("error" in decoded) {
        i += decoded.at;
        fail(decoded.error);
      } else top.text += decoded.text;
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) fail("unterminated comment");
      i = end + 3;
    } else if (text.startsWith("<![CDATA[", i)) {
      const end = text.indexOf("]]>", i + 9);
      if (end < 0) fail("unterminated CDATA");
      stack[stack.length - 1].text += text.slice(i + 9, end);
      i = end + 3;
    } else if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2);
      if (end < 0) fail("unterminated processing instruction");
      i = end + 2;
    } else if (text.startsWith("<!", i)) {
      // <!DOCTYPE …> may hold an internal subset […] with declarations (entities among them,
      // which are never expanded: `&name;` of a declared entity is refused as unknown).
      const bracket = text.indexOf("[", i);
      const close = text.indexOf(">", i + 2);
      const subset = bracket >= 0 && (close < 0 || bracket < close);
      const end = subset ? text.indexOf("]", bracket) : close;
      if (end < 0) fail("unterminated declaration");
      i = (subset ? text.indexOf(">", end) : end) + 1;
      if (i === 0) fail("unterminated declaration");
    } else {
      const end = text.indexOf(">", i + 1);
      if (end < 0) fail("unterminated tag");
      const body = text.slice(i + 1, end);
      i = end + 1;
      if (body.startsWith("/")) {
        const name = body.slice(1).trim();
        const top = stack.pop();
        if (top === undefined || top === root) fail(`unexpected </${name}>`);
        if (top!.tag !== name) fail(`</${name}> closes <${top!.tag}>`);
      } else {
        const selfClosing = body.endsWith("/");
        const match = /^([A-Za-z_:][-A-Za-z0-9_:.]*)(\s[^]*)?$/.exec(
          selfClosing ? body.slice(0, -1) : body,
        );
        if (match === null) fail(`bad tag <${body.slice(0, 20)}>`);
        const element: XmlElement = { tag: match![1], children: [], text: "" };
        const parent = stack[stack.length - 1];
        if (parent === root && root.children.length > 0) fail("more than one root element");
        parent.children.push(element);
        if (!selfClosing) stack.push(element);
      }
    }
  }
  if (stack.length > 1) fail(`<${stack[stack.length - 1].tag}> is never closed`);
  if (root.children.length === 0) fail("no root element");
  return root.children[0];
}

function child(element: XmlElement, tag: string): XmlElement | undefined {
  return element.children.find((c) => c.tag === tag);
}

function readNumber(element: XmlElement, tag: string, file: string, where: string): number {
  const node = child(element, tag);
  if (node === undefined) throw new FileError(file, `${where}: missing <${tag}>`);
  const raw = node.text.trim();
  const value = raw === "" ? NaN : Number(raw);
  if (!Number.isFinite(value)) {
    throw new FileError(file, `${where}: <${tag}> is not a number: ${JSON.stringify(raw)}`);
  }
  return value;
}

function readFlag(element: XmlElement, tag: string, file: string, where: string): boolean {
  const node = child(element, tag);
  if (node === undefined || node.text.trim() === "") return false;
  return readNumber(element, tag, file, where) !== 0;
}

/**
 * Parses the text of one VOC annotation file.
 *
 * @param text the XML text
 * @param file the file name, used in errors
 * @returns the file name, size (0 when `<size>` is absent) and objects with boxes as written
 * @throws FileError when the text is not XML, the root is not `<annotation>`, an object has
 *   no `<name>` or `<bndbox>`, or a coordinate is missing or not a number
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVocXml } from "./voc.ts";
 * const ann = parseVocXml(
 *   `<annotation><filename>a.jpg</filename><size><width>64</width><height>48</height></size>
 *    <object><name>dog</name><difficult>1</difficult>
 *    <bndbox><xmin>1</xmin><ymin>2.5</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
 *    </annotation>`,
 *   "a.xml",
 * );
 * assert.equal(ann.width, 64);
 * assert.deepEqual(ann.objects[0], {
 *   name: "dog", difficult: true, truncated: false, bbox: [1, 2.5, 30, 40],
 * });
 * ```
 */
export function parseVocXml(text: string, file: string): VocAnnotation {
  const root = parseXml(text, file);
  if (root.tag !== "annotation") {
    throw new FileError(file, `expected an <annotation> root element, got <${root.tag}>`);
  }
  const size = child(root, "size");
  const width = size === undefined ? 0 : readNumber(size, "width", file, "<size>");
  const height = size === undefined ? 0 : readNumber(size, "height", file, "<size>");
  const objects: VocObject[] = [];
  for (const node of root.children) {
    if (node.tag !== "object") continue;
    const where = `object ${objects.length + 1}`;
    const nameNode = child(node, "name");
    const name = nameNode?.text.trim() ?? "";
    if (name === "") throw new FileError(file, `${where}: missing <name>`);
    const box = child(node, "bndbox");
    if (box === undefined) throw new FileError(file, `${where} (${name}): missing <bndbox>`);
    const at = `${where} (${name}) <bndbox>`;
    objects.push({
      name,
      difficult: readFlag(node, "difficult", file, where),
      truncated: readFlag(node, "truncated", file, where),
      bbox: [
        readNumber(box, "xmin", file, at),
        readNumber(box, "ymin", file, at),
        readNumber(box, "xmax", file, at),
        readNumber(box, "ymax", file, at),
      ],
    });
  }
  return { filename: child(root, "filename")?.text.trim() ?? "", width, height, objects };
}

/**
 * Reads an image-set list `ImageSets/Main/<set>.txt` of a VOC root: one image id per line
 * (the first whitespace-separated field; blank lines skipped).
 *
 * @param root the VOC root (holding `Annotations/` and `ImageSets/Main/`)
 * @param set the list's name; by default `test`, or the only list there when there is no `test`
 * @throws FileError when the list is missing, unreadable or empty, or no default can be chosen
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readVocImageSet } from "./voc.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/ImageSets/Main`, { recursive: true });
 * await Deno.writeTextFile(`${root}/ImageSets/Main/val.txt`, "000001\n000002\n\n");
 * assert.deepEqual(await readVocImageSet(root), { set: "val", ids: ["000001", "000002"] });
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function readVocImageSet(
  root: string,
  set?: string,
): Promise<{ set: string; ids: string[] }> {
  const dir = `${root}/ImageSets/Main`;
  let chosen = set;
  if (chosen === undefined) {
    const lists: string[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile && entry.name.endsWith(".txt")) lists.push(entry.name.slice(0, -4));
      }
    } catch (err) {
      throw new FileError(dir, `cannot list image sets: ${describeFsError(err)}`);
    }
    // The devkit's per-class lists (`aeroplane_train.txt` beside `train.txt`) are not image sets.
    const perClass = (n: string) =>
      n.includes("_") && lists.includes(n.slice(n.lastIndexOf("_") + 1));
    lists.splice(0, lists.length, ...lists.filter((n) => !perClass(n)));
    if (lists.includes("test")) chosen = "test";
    else if (lists.length === 1) chosen = lists[0];
    else if (lists.length === 0) throw new FileError(dir, "no image-set lists (<set>.txt)");
    else {
      throw new FileError(
        dir,
        `no test.txt and several lists (${lists.sort().join(", ")}); choose one with --set`,
      );
    }
  }
  const path = `${dir}/${chosen}.txt`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new FileError(path, `cannot read image set: ${describeFsError(err)}`);
  }
  const ids = text.split(/\r?\n/).map((line) => line.trim().split(/\s+/)[0]).filter((id) =>
    id !== undefined && id !== ""
  );
  if (ids.length === 0) throw new FileError(path, "the image set is empty (no image ids)");
  return { set: chosen, ids };
}
