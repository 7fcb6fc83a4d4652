// Seals a Kubernetes Secret in the browser, as kubeseal does, with WebCrypto only. The only
// request this page makes is for the controller's certificate (v1/cert.pem, relative so the
// page also works behind the API server's service proxy); values never leave the page.
"use strict";

(() => {
  const CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide";
  const NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide";
  const LAST_APPLIED = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
  ];
  // A pasted manifest is small; this bounds the parser's work on anything else.
  const MAX_MANIFEST_CHARS = 4 * 1024 * 1024;
  const MAX_DEPTH = 64;
  // The API server refuses Secrets larger than this.
  const MAX_SECRET_BYTES = 1024 * 1024;

  class InputError extends Error {
    constructor(field, message) {
      super(message);
      this.field = field;
    }
  }

  // ---------------------------------------------------------------------------------------
  // bytes
  // ---------------------------------------------------------------------------------------

  const utf8 = new TextEncoder();

  function base64Encode(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  // Standard alphabet, padded, as Go's base64.StdEncoding and the seal crate accept.
  function base64Decode(text) {
    if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      return null;
    }
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      out[i] = binary.charCodeAt(i);
    }
    return out;
  }

  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // certificate: PEM, a small DER reader, fingerprint
  // ---------------------------------------------------------------------------------------

  function pemCertificate(text) {
    const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/.exec(text);
    if (!match) {
      throw new InputError("cert", "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)");
    }
    const der = base64Decode(match[1].replace(/\s+/g, ""));
    if (!der || der.length === 0) {
      throw new InputError("cert", "the certificate's PEM body is not valid base64");
    }
    return der;
  }

  // One DER element at `at` within `end`: {tag, start (of contents), end}.
  function derElement(der, at, end) {
    if (at + 2 > end) throw new Error("truncated");
    const tag = der[at];
    let len = der[at + 1];
    let start = at + 2;
    if (len & 0x80) {
      const count = len & 0x7f;
      if (count === 0 || count > 4 || start + count > end) throw new Error("bad length");
      len = 0;
      for (let i = 0; i < count; i++) len = len * 256 + der[start + i];
      start += count;
    }
    if (start + len > end) throw new Error("truncated");
    return { tag, at, start, end: start + len };
  }

  function derChildren(der, parent) {
    const out = [];
    let at = parent.start;
    while (at < parent.end) {
      const child = derElement(der, at, parent.end);
      out.push(child);
      at = child.end;
    }
    return out;
  }

  function derTime(der, el) {
    const text = String.fromCharCode.apply(null, der.subarray(el.start, el.end));
    // UTCTime YYMMDDHHMMSSZ (years 1950-2049), GeneralizedTime YYYYMMDDHHMMSSZ.
    const m = el.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) throw new Error("bad time");
    let year = Number(m[1]);
    if (el.tag === 0x17) year += year < 50 ? 2000 : 1900;
    return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }

  function sshString(bytes) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length);
    return concat([len, bytes]);
  }

  function sshMpint(unsigned) {
    let i = 0;
    while (i < unsigned.length && unsigned[i] === 0) i++;
    const trimmed = unsigned.subarray(i);
    return sshString(trimmed.length && trimmed[0] & 0x80 ? concat([new Uint8Array([0]), trimmed]) : trimmed);
  }

  // Reads what sealing needs from a DER certificate: SPKI bytes, RSA modulus and exponent, and
  // the validity. Throws InputError on anything else.
  function parseCertificate(der) {
    try {
      const cert = derElement(der, 0, der.length);
      const tbs = derChildren(der, cert)[0];
      const fields = derChildren(der, tbs);
      // An explicit version ([0]) shifts the fields by one.
      const base = fields[0].tag === 0xa0 ? 1 : 0;
      const validity = derChildren(der, fields[base + 3]);
      const spki = fields[base + 5];
      const [algorithm, bitString] = derChildren(der, spki);
      const oid = derChildren(der, algorithm)[0];
      const rsaOid = "2a864886f70d010101";
      const oidHex = Array.from(der.subarray(oid.start, oid.end), (b) => b.toString(16).padStart(2, "0")).join("");
      if (oidHex !== rsaOid) {
        throw new InputError("cert", "the certificate's key is not an RSA key");
      }
      // BIT STRING: one byte of unused bits, then RSAPublicKey.
      const rsa = derElement(der, bitString.start + 1, bitString.end);
      const [modulus, exponent] = derChildren(der, rsa);
      return {
        spki: der.slice(spki.at, spki.end),
        modulus: der.slice(modulus.start, modulus.end),
        exponent: der.slice(exponent.start, exponent.end),
        notBefore: derTime(der, validity[0]),
        notAfter: derTime(der, validity[1]),
      };
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError("cert", "the certificate is malformed (not an X.509 DER structure)");
    }
  }

  // kubeseal's `keys list` format: SHA256: + unpadded base64 of SHA-256 over the SSH wire key.
  async function fingerprint(cert) {
    const wire = concat([sshString(utf8.encode("ssh-rsa")), sshMpint(cert.exponent), sshMpint(cert.modulus)]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", wire));
    return "SHA256:" + base64Encode(digest).replace(/=+$/, "");
  }

  function formatTime(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  // ---------------------------------------------------------------------------------------
  // sealing: the seal crate's wire format
  // ---------------------------------------------------------------------------------------

  function scopeLabel(scope, namespace, name) {
    if (scope === "strict") return utf8.encode(namespace + "/" + name);
    if (scope === "namespace-wide") return utf8.encode(namespace);
    return new Uint8Array(0);
  }

  // u16_be(len(rsa)) || RSA-OAEP-SHA256(label)(aes key) || AES-256-GCM(zero nonce)(plaintext).
  // The nonce may be zero because every value gets a fresh key.
  async function sealValue(publicKey, label, plaintext) {
    const keyBytes = crypto.getRandomValues(new Uint8Array(32));
    try {
      const aes = await crypto.subtle.importKey("raw", keyBytes, "AES-GCM", false, ["encrypt"]);
      const body = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(12) }, aes, plaintext));
      const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP", label }, publicKey, keyBytes));
      const prefix = new Uint8Array([wrapped.length >> 8, wrapped.length & 0xff]);
      return base64Encode(concat([prefix, wrapped, body]));
    } finally {
      keyBytes.fill(0);
    }
  }

  // ---------------------------------------------------------------------------------------
  // YAML output: the seal crate's emitter (sorted keys, block style, quoting that keeps
  // every string a string under YAML 1.1 and 1.2)
  // ---------------------------------------------------------------------------------------

  // Rust sorts String keys by UTF-8 bytes, which is code point order.
  function byCodePoint(a, b) {
    const x = Array.from(a, (c) => c.codePointAt(0));
    const y = Array.from(b, (c) => c.codePointAt(0));
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i] - y[i];
    }
    return x.length - y.length;
  }

  const RESERVED = ["y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", ".inf", ".nan"];

  function looksNumeric(s) {
    return /^[+\-.]*[0-9]/.test(s) && /^[0-9a-fA-FxXoO_.:+\-TtZz]*$/.test(s);
  }

  function isPlainSafe(s) {
    if (s === "" || !/^[A-Za-z0-9._/]/.test(s)) return false;
    if (!/^[A-Za-z0-9\-_./+=:]*$/.test(s)) return false;
    if (s.endsWith(":")) return false;
    if (RESERVED.includes(s.toLowerCase())) return false;
    return !looksNumeric(s);
  }

  function doubleQuoted(s) {
    let out = '"';
    for (const ch of s) {
      const code = ch.codePointAt(0);
      if (ch === '"') out += '\\"';
      else if (ch === "\\") out += "\\\\";
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f)
        || [0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff].includes(code)) {
        out += code <= 0xff ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0");
      } else out += ch;
    }
    return out + '"';
  }

  function yamlString(s) {
    return isPlainSafe(s) ? s : doubleQuoted(s);
  }

  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  function inline(v) {
    if (v === null || v === undefined) return "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return String(v);
    if (typeof v === "string") return yamlString(v);
    return Array.isArray(v) ? "[]" : "{}";
  }

  function emitMap(map, indent, out, firstSharesLine) {
    const keys = Object.keys(map).sort(byCodePoint);
    keys.forEach((key, i) => {
      if (i > 0 || !firstSharesLine) out.push(" ".repeat(indent));
      const value = map[key];
      out.push(yamlString(key) + ":");
      if (isObject(value) && Object.keys(value).length) {
        out.push("\n");
        emitMap(value, indent + 2, out, false);
      } else if (Array.isArray(value) && value.length) {
        out.push("\n");
        emitSeq(value, indent, out);
      } else {
        out.push(" " + inline(value) + "\n");
      }
    });
  }

  function emitSeq(items, indent, out) {
    for (const item of items) {
      out.push(" ".repeat(indent));
      if (isObject(item) && Object.keys(item).length) {
        out.push("- ");
        emitMap(item, indent + 2, out, true);
      } else if (Array.isArray(item) && item.length) {
        out.push("-\n");
        emitSeq(item, indent + 2, out);
      } else {
        out.push("- " + inline(item) + "\n");
      }
    }
  }

  function yamlDocument(value) {
    const out = ["---\n"];
    emitMap(value, 0, out, false);
    return out.join("");
  }

  // ---------------------------------------------------------------------------------------
  // manifest input: JSON, or the block and flow YAML that Secret manifests are written in
  // ---------------------------------------------------------------------------------------

  function yamlError(line, message) {
    return new InputError("manifest", `invalid YAML at line ${line}: ${message}`);
  }

  // Splits into lines with comments removed (a # that starts a line or follows a space,
  // outside quotes). Block scalar bodies keep their text; the parser asks for raw lines there.
  function yamlLines(text) {
    return text.replace(/^\uFEFF/, "").split(/\r?\n/).map((raw, i) => ({ raw, n: i + 1 }));
  }

  function stripComment(s) {
    let quote = null;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (quote) {
        if (quote === '"' && c === "\\") i++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") {
        if (i === 0 || /[\s:[{,\-?]/.test(s[i - 1])) quote = c;
      } else if (c === "#" && (i === 0 || /\s/.test(s[i - 1]))) {
        return s.slice(0, i);
      }
    }
    return s;
  }

  class YamlParser {
    constructor(text) {
      this.lines = yamlLines(text);
      this.i = 0;
    }

    // Next line that holds content: {n, indent, text} without comment or trailing space.
    peek() {
      while (this.i < this.lines.length) {
        const { raw, n } = this.lines[this.i];
        const text = stripComment(raw).replace(/\s+$/, "");
        if (text.trim() === "" ) {
          this.i++;
          continue;
        }
        if (/^\t/.test(raw)) throw yamlError(n, "tabs cannot indent YAML");
        const indent = text.length - text.trimStart().length;
        return { n, indent, text: text.trimStart() };
      }
      return null;
    }

    document() {
      let line = this.peek();
      if (line && line.indent === 0 && /^---(\s|$)/.test(line.text)) {
        const rest = line.text.slice(3).trim();
        if (rest) throw yamlError(line.n, "content after --- is not supported");
        this.i++;
        line = this.peek();
      }
      if (!line) throw new InputError("manifest", "the manifest is empty");
      const value = this.node(line.indent, 0);
      const after = this.peek();
      if (after) {
        if (after.indent === 0 && /^(---|\.\.\.)(\s|$)/.test(after.text)) {
          this.i++;
          if (this.peek()) throw new InputError("manifest", "paste one Secret at a time (found more than one YAML document)");
        } else {
          throw yamlError(after.n, "unexpected indentation");
        }
      }
      return value;
    }

    node(indent, depth) {
      if (depth > MAX_DEPTH) throw new InputError("manifest", "the manifest nests too deeply");
      const line = this.peek();
      if (/^-(\s|$)/.test(line.text)) return this.sequence(line.indent, depth);
      if (this.findColon(line.text) < 0) {
        // A lone scalar or flow collection spanning the line(s).
        this.i++;
        return this.scalarOrFlow(line.text, line, depth);
      }
      return this.mapping(line.indent, depth);
    }

    findColon(text) {
      let quote = null;
      let flow = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quote) {
          if (quote === '"' && c === "\\") i++;
          else if (c === quote) quote = null;
        } else if ((c === '"' || c === "'") && (i === 0 || /[\s[{,]/.test(text[i - 1]))) quote = c;
        else if (c === "{" || c === "[") flow++;
        else if (c === "}" || c === "]") flow--;
        else if (c === ":" && flow === 0 && (i + 1 === text.length || text[i + 1] === " ")) return i;
      }
      return -1;
    }

    mapping(indent, depth) {
      const map = {};
      for (;;) {
        const line = this.peek();
        if (!line || line.indent < indent) break;
        if (line.indent > indent) throw yamlError(line.n, "unexpected indentation");
        if (/^-(\s|$)/.test(line.text)) break;
        const colon = this.findColon(line.text);
        if (colon < 0) throw yamlError(line.n, "expected a key: value pair");
        const key = this.key(line.text.slice(0, colon).trim(), line);
        if (Object.prototype.hasOwnProperty.call(map, key)) throw yamlError(line.n, `duplicate key ${JSON.stringify(key)}`);
        const rest = line.text.slice(colon + 1).trim();
        this.i++;
        map[key] = this.value(rest, indent, line, depth);
      }
      return map;
    }

    sequence(indent, depth) {
      const items = [];
      for (;;) {
        const line = this.peek();
        if (!line || line.indent < indent) break;
        if (line.indent > indent) throw yamlError(line.n, "unexpected indentation");
        if (!/^-(\s|$)/.test(line.text)) break;
        const rest = line.text.slice(1).trim();
        if (rest === "") {
          this.i++;
          const next = this.peek();
          items.push(next && next.indent > indent ? this.node(next.indent, depth + 1) : null);
        } else if (this.findColon(rest) >= 0 && !/^[[{]/.test(rest)) {
          // "- key: value" starts a mapping indented at the key's column.
          const column = line.indent + line.text.length - line.text.slice(1).trimStart().length;
          this.lines[this.i] = { raw: " ".repeat(column) + rest, n: line.n };
          items.push(this.mapping(column, depth + 1));
        } else {
          this.i++;
          items.push(this.value(rest, indent, line, depth));
        }
      }
      return items;
    }

    value(rest, indent, line, depth) {
      if (rest === "") {
        const next = this.peek();
        if (next && next.indent > indent) return this.node(next.indent, depth + 1);
        // kubectl writes sequences under a key at the key's own indentation.
        if (next && next.indent === indent && /^-(\s|$)/.test(next.text)) return this.sequence(indent, depth + 1);
        return null;
      }
      if (/^[|>]/.test(rest)) return this.blockScalar(rest, indent, line);
      return this.scalarOrFlow(rest, line, depth);
    }

    blockScalar(header, indent, line) {
      const m = /^([|>])([+-]?)([1-9]?)([+-]?)$/.exec(header);
      if (!m) throw yamlError(line.n, "unsupported block scalar header");
      const folded = m[1] === ">";
      const chomp = m[2] || m[4];
      let width = m[3] ? indent + Number(m[3]) : 0;
      const body = [];
      while (this.i < this.lines.length) {
        const raw = this.lines[this.i].raw.replace(/\r$/, "");
        if (raw.trim() === "") {
          body.push("");
          this.i++;
          continue;
        }
        const lead = raw.length - raw.trimStart().length;
        if (!width) width = lead;
        if (lead < width || lead <= indent) break;
        body.push(raw.slice(width));
        this.i++;
      }
      // Trailing blank lines belong to chomping, not to the next node.
      let trailing = 0;
      while (body.length && body[body.length - 1] === "") {
        body.pop();
        trailing++;
      }
      let text;
      if (folded) {
        text = "";
        // Empty lines stand for themselves and swallow the break before them; lines that
        // are more indented keep their breaks; other breaks fold into spaces.
        body.forEach((l, k) => {
          const prev = body[k - 1];
          if (k === 0) text = l;
          else if (l === "") text += "\n";
          else if (/^\s/.test(l) || /^\s/.test(prev)) text += "\n" + l;
          else if (prev === "") text += l;
          else text += " " + l;
        });
      } else {
        text = body.join("\n");
      }
      if (body.length === 0) return chomp === "+" ? "\n".repeat(trailing) : "";
      if (chomp === "-") return text;
      if (chomp === "+") return text + "\n" + "\n".repeat(trailing);
      return text + "\n";
    }

    key(text, line) {
      if (/^["']/.test(text)) {
        const [value, end] = this.quoted(text, 0, line);
        if (end !== text.length) throw yamlError(line.n, "text after a quoted key");
        return value;
      }
      if (/^[?&*!|>{[]/.test(text)) throw yamlError(line.n, "unsupported key syntax");
      return text;
    }

    // A value on one line, or a flow collection that may continue on the next lines.
    scalarOrFlow(text, line, depth) {
      if (/^[[{]/.test(text)) {
        let all = text;
        const balance = { open: 0, quote: null };
        this.flowBalance(text, balance);
        while (balance.open > 0 && this.i < this.lines.length) {
          const more = " " + stripComment(this.lines[this.i].raw).trim();
          all += more;
          this.i++;
          this.flowBalance(more, balance);
        }
        const flow = new FlowParser(all, line.n, this);
        const value = flow.value(depth + 1);
        flow.skipSpace();
        if (flow.at !== all.length) throw yamlError(line.n, "text after a flow collection");
        return value;
      }
      if (/^["']/.test(text)) {
        const [value, end] = this.quoted(text, 0, line);
        if (text.slice(end).trim() !== "") throw yamlError(line.n, "text after a quoted string");
        return value;
      }
      return this.plain(text, line);
    }

    // Brackets still open after `text`, carried across lines in `state` ({open, quote}).
    flowBalance(text, state) {
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (state.quote) {
          if (state.quote === '"' && c === "\\") i++;
          else if (c === state.quote) state.quote = null;
        } else if (c === '"' || c === "'") state.quote = c;
        else if (c === "{" || c === "[") state.open++;
        else if (c === "}" || c === "]") state.open--;
      }
    }

    plain(text, line) {
      if (/^[&*!%@`]/.test(text)) throw yamlError(line.n, "anchors, aliases and tags are not supported");
      if (text === "~" || text === "null" || text === "Null" || text === "NULL") return null;
      return text;
    }

    // A quoted scalar starting at `at`: [value, index after the closing quote].
    quoted(text, at, line) {
      const q = text[at];
      let out = "";
      let i = at + 1;
      while (i < text.length) {
        const c = text[i];
        if (q === "'") {
          if (c === "'") {
            if (text[i + 1] === "'") {
              out += "'";
              i += 2;
              continue;
            }
            return [out, i + 1];
          }
          out += c;
          i++;
          continue;
        }
        if (c === '"') return [out, i + 1];
        if (c !== "\\") {
          out += c;
          i++;
          continue;
        }
        const e = text[i + 1];
        const simple = { "0": "\0", a: "\x07", b: "\b", t: "\t", "\t": "\t", n: "\n", v: "\v", f: "\f", r: "\r", e: "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", N: "\x85", _: "\xa0", L: "\u2028", P: "\u2029" };
        if (e in simple) {
          out += simple[e];
          i += 2;
          continue;
        }
        const digits = { x: 2, u: 4, U: 8 }[e];
        const hex = digits ? text.slice(i + 2, i + 2 + digits) : "";
        if (!digits || !new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw yamlError(line.n, "bad escape in a double-quoted string");
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) throw yamlError(line.n, "bad escape in a double-quoted string");
        out += String.fromCodePoint(code);
        i += 2 + digits;
      }
      throw yamlError(line.n, "unterminated quoted string");
    }
  }

  class FlowParser {
    constructor(text, n, yaml) {
      this.text = text;
      this.at = 0;
      this.n = n;
      this.yaml = yaml;
    }

    skipSpace() {
      while (this.at < this.text.length && /\s/.test(this.text[this.at])) this.at++;
    }

    value(depth) {
      if (depth > MAX_DEPTH) throw new InputError("manifest", "the manifest nests too deeply");
      this.skipSpace();
      const c = this.text[this.at];
      if (c === "{") return this.collection("}", depth, {});
      if (c === "[") return this.collection("]", depth, []);
      if (c === '"' || c === "'") {
        const [value, end] = this.yaml.quoted(this.text, this.at, { n: this.n });
        this.at = end;
        return value;
      }
      const start = this.at;
      while (this.at < this.text.length && !/[,}\]]/.test(this.text[this.at])
        && !(this.text[this.at] === ":" && /[\s,}\]]/.test(this.text[this.at + 1] || " "))) this.at++;
      return this.yaml.plain(this.text.slice(start, this.at).trim(), { n: this.n });
    }

    collection(close, depth, into) {
      this.at++;
      for (;;) {
        this.skipSpace();
        if (this.text[this.at] === close) {
          this.at++;
          return into;
        }
        if (Array.isArray(into)) {
          into.push(this.value(depth + 1));
        } else {
          const key = this.value(depth + 1);
          this.skipSpace();
          if (this.text[this.at] !== ":") throw yamlError(this.n, "expected : in a flow mapping");
          this.at++;
          into[key === null ? "" : String(key)] = this.value(depth + 1);
        }
        this.skipSpace();
        if (this.text[this.at] === ",") this.at++;
        else if (this.text[this.at] !== close) throw yamlError(this.n, `expected , or ${close}`);
      }
    }
  }

  function parseManifest(text) {
    if (text.length > MAX_MANIFEST_CHARS) throw new InputError("manifest", "the manifest is larger than 4 MiB");
    const trimmed = text.replace(/^\uFEFF/, "").trim();
    if (trimmed === "") throw new InputError("manifest", "the manifest is empty");
    if (/^[{[]/.test(trimmed)) {
      try {
        return JSON.parse(trimmed);
      } catch (e) {
        // The engine's message can quote input text, which may be a secret: say where only.
        const where = /position (\d+)/.exec(String(e.message));
        const line = where ? trimmed.slice(0, Number(where[1])).split("\n").length : null;
        throw new InputError("manifest", line ? `invalid JSON at line ${line}` : "invalid JSON");
      }
    }
    return new YamlParser(text).document();
  }

  function stringMap(value, field) {
    if (value === null || value === undefined) return {};
    if (!isObject(value)) throw new InputError("manifest", `${field} must be a mapping`);
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== "string") throw new InputError("manifest", `${field}.${k} must be a string`);
      out[k] = v;
    }
    return out;
  }

  // The Secret a manifest describes, in the shape sealing needs. Values stay out of errors.
  function secretFromManifest(doc) {
    if (!isObject(doc)) throw new InputError("manifest", "the manifest is not a Secret object");
    const kind = doc.kind === undefined || doc.kind === null ? "Secret" : String(doc.kind);
    if (kind !== "Secret") {
      const hint = kind === "SealedSecret" ? " (is the input already sealed?)" : "";
      throw new InputError("manifest", `document 1 is a ${kind}, expected a Secret${hint}`);
    }
    const meta = doc.metadata === null || doc.metadata === undefined ? {} : doc.metadata;
    if (!isObject(meta)) throw new InputError("manifest", "metadata must be a mapping");
    const metadata = {};
    for (const field of ["name", "generateName", "namespace"]) {
      if (meta[field] !== undefined && meta[field] !== null) {
        if (typeof meta[field] !== "string") throw new InputError("manifest", `metadata.${field} must be a string`);
        metadata[field] = meta[field];
      }
    }
    metadata.labels = stringMap(meta.labels, "metadata.labels");
    metadata.annotations = stringMap(meta.annotations, "metadata.annotations");
    if (Array.isArray(meta.finalizers) && meta.finalizers.length) metadata.finalizers = meta.finalizers.map(String);
    const data = {};
    for (const [k, v] of Object.entries(stringMap(doc.data, "data"))) {
      const bytes = base64Decode(v);
      if (!bytes) throw new InputError("manifest", `data.${k} is not valid base64`);
      data[k] = bytes;
    }
    for (const [k, v] of Object.entries(stringMap(doc.stringData, "stringData"))) {
      data[k] = utf8.encode(v);
    }
    let immutable;
    if (doc.immutable !== undefined && doc.immutable !== null) {
      if (doc.immutable === true || doc.immutable === "true") immutable = true;
      else if (doc.immutable === false || doc.immutable === "false") immutable = false;
      else throw new InputError("manifest", "immutable must be true or false");
    }
    let type;
    if (doc.type !== undefined && doc.type !== null) type = String(doc.type);
    return { metadata, data, type, immutable };
  }

  function scopeFromAnnotations(annotations) {
    if (annotations[CLUSTER_WIDE] === "true") return "cluster-wide";
    if (annotations[NAMESPACE_WIDE] === "true") return "namespace-wide";
    return "strict";
  }

  function writeScope(annotations, scope) {
    delete annotations[CLUSTER_WIDE];
    delete annotations[NAMESPACE_WIDE];
    if (scope === "cluster-wide") annotations[CLUSTER_WIDE] = "true";
    if (scope === "namespace-wide") annotations[NAMESPACE_WIDE] = "true";
  }

  function compact(map) {
    const out = {};
    for (const [k, v] of Object.entries(map)) {
      if (v === undefined) continue;
      if (isObject(v) && Object.keys(v).length === 0) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      out[k] = v;
    }
    return out;
  }

  // kubeseal's seal_secret: the scope (rewritten only when not strict, like --scope), the
  // name override (--name), the namespace (-n fills a missing one; a different one is an
  // error) and the template metadata without last-applied annotations. Throws InputError.
  async function sealSecret(secret, options, publicKey) {
    const metadata = {
      ...secret.metadata,
      labels: { ...secret.metadata.labels },
      annotations: { ...secret.metadata.annotations },
    };
    if (Object.keys(secret.data).length === 0) {
      throw new InputError(options.dataField, "there is nothing to seal: add at least one item (secret.data is empty)");
    }
    if (options.name) metadata.name = options.name;
    if (!metadata.name) throw new InputError("name", "a name is required (missing metadata.name)");
    if (options.scope !== "strict") writeScope(metadata.annotations, options.scope);
    const scope = scopeFromAnnotations(metadata.annotations);
    const given = options.namespace;
    if (given && metadata.namespace && metadata.namespace !== given) {
      throw new InputError("namespace", `namespace mismatch: the manifest says ${JSON.stringify(metadata.namespace)}`);
    }
    if (!metadata.namespace && scope !== "cluster-wide") {
      if (!given) throw new InputError("namespace", `a namespace is required for ${scope} scope`);
      metadata.namespace = given;
    }
    for (const a of LAST_APPLIED) delete metadata.annotations[a];

    const label = scopeLabel(scope, metadata.namespace || "", metadata.name);
    const encryptedData = {};
    for (const [key, bytes] of Object.entries(secret.data)) {
      encryptedData[key] = await sealValue(publicKey, label, bytes);
    }
    const outer = { name: metadata.name, namespace: metadata.namespace };
    const scopeAnnotations = {};
    for (const a of [CLUSTER_WIDE, NAMESPACE_WIDE]) {
      if (a in metadata.annotations) scopeAnnotations[a] = metadata.annotations[a];
    }
    outer.annotations = scopeAnnotations;
    return {
      scope,
      document: {
        apiVersion: "bitnami.com/v1alpha1",
        kind: "SealedSecret",
        metadata: compact(outer),
        spec: {
          encryptedData,
          template: compact({
            metadata: compact(metadata),
            type: secret.type,
            immutable: secret.immutable,
          }),
        },
      },
    };
  }

  // ---------------------------------------------------------------------------------------
  // the page
  // ---------------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const state = { cert: null, publicKey: null, output: "" };
  let itemCount = 0;

  function showError(id, message) {
    const el = $(id + "-error");
    el.textContent = message;
    el.hidden = false;
    const input = $(id === "cert" ? "cert-pem" : id);
    if (input) input.setAttribute("aria-invalid", "true");
  }

  function clearErrors() {
    for (const el of document.querySelectorAll(".error")) {
      el.hidden = true;
      el.textContent = "";
    }
    for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  async function useCertificate(text, source) {
    state.cert = null;
    state.publicKey = null;
    $("cert-info").hidden = true;
    const cert = parseCertificate(pemCertificate(text));
    const publicKey = await crypto.subtle.importKey("spki", cert.spki, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"])
      .catch(() => {
        throw new InputError("cert", "the certificate's RSA key cannot be used for RSA-OAEP");
      });
    cert.fingerprint = await fingerprint(cert);
    state.cert = cert;
    state.publicKey = publicKey;
    $("cert-fingerprint").textContent = cert.fingerprint;
    const expired = cert.notAfter < new Date();
    const until = $("cert-not-after");
    until.textContent = formatTime(cert.notAfter) + (expired ? " (expired)" : "");
    until.className = expired ? "expired" : "";
    $("cert-info").hidden = false;
    $("cert-source").textContent = source;
  }

  async function certFromInput(text, source) {
    $("cert-error").hidden = true;
    $("cert-pem").removeAttribute("aria-invalid");
    try {
      await useCertificate(text, source);
    } catch (e) {
      $("cert-source").textContent = "No certificate.";
      showError("cert", e instanceof InputError ? e.message : "cannot read the certificate");
    }
  }

  async function fetchCertificate() {
    if (location.protocol !== "http:" && location.protocol !== "https:") {
      $("cert-source").textContent = "Opened from a file: paste the certificate or choose its file (kubeseal --fetch-cert > cert.pem).";
      $("cert-other").open = true;
      return;
    }
    try {
      const response = await fetch("v1/cert.pem", { cache: "no-store", credentials: "same-origin", redirect: "error" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      await certFromInput(await response.text(), "From the controller that serves this page.");
    } catch (e) {
      $("cert-source").textContent = "No certificate.";
      $("cert-other").open = true;
      showError("cert", `cannot fetch the controller's certificate (${e instanceof InputError ? e.message : e.message || "network error"}); paste it instead`);
    }
  }

  function addItem() {
    itemCount++;
    const n = itemCount;
    const item = $("item-template").content.firstElementChild.cloneNode(true);
    item.dataset.n = String(n);
    const wire = (cls, id) => {
      const input = item.querySelector("." + cls);
      input.id = `${cls}-${n}`;
      const label = item.querySelector(`.${cls}-label`);
      if (label) label.htmlFor = input.id;
      return input;
    };
    const key = wire("item-key");
    const source = wire("item-source");
    const value = wire("item-value");
    const file = item.querySelector(".item-file");
    file.id = `item-file-${n}`;
    const error = item.querySelector(".item-error");
    error.id = `item-error-${n}`;
    for (const el of [key, source, value, file]) el.setAttribute("aria-describedby", error.id);
    const valueLabel = item.querySelector(".item-value-label");
    source.addEventListener("change", () => {
      const isFile = source.value === "file";
      value.hidden = isFile;
      file.hidden = !isFile;
      valueLabel.htmlFor = isFile ? file.id : value.id;
      valueLabel.textContent = isFile ? "File" : source.value === "base64" ? "Value (base64)" : "Value";
    });
    item.querySelector(".item-remove").addEventListener("click", () => {
      const next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      (next ? next.querySelector(".item-key") : $("add-item")).focus();
    });
    item.querySelector(".item-remove").setAttribute("aria-label", `Remove item ${n}`);
    $("items").append(item);
    return key;
  }

  async function itemsSecret() {
    const data = {};
    const items = Array.from($("items").children);
    for (const item of items) {
      const key = item.querySelector(".item-key");
      const source = item.querySelector(".item-source").value;
      const fail = (message, input) => {
        const error = new InputError("items", message);
        error.item = item;
        error.input = input;
        throw error;
      };
      const file = item.querySelector(".item-file");
      const value = item.querySelector(".item-value");
      const empty = key.value === "" && (source === "file" ? file.files.length === 0 : value.value === "");
      if (empty && items.length > 1) continue;
      if (empty) break;
      if (!/^[-._a-zA-Z0-9]+$/.test(key.value)) {
        fail(key.value === "" ? "the key is empty" : "a key may hold only letters, digits, '-', '_' and '.'", key);
      }
      if (Object.prototype.hasOwnProperty.call(data, key.value)) fail(`key ${key.value} is used twice`, key);
      if (source === "file") {
        if (file.files.length === 0) fail("choose a file for this value", file);
        if (file.files[0].size > MAX_SECRET_BYTES) fail(`${file.files[0].name} is larger than 1 MiB, the most a Secret can hold`, file);
        data[key.value] = new Uint8Array(await file.files[0].arrayBuffer());
      } else if (source === "base64") {
        const bytes = base64Decode(value.value.replace(/\s+/g, ""));
        if (!bytes) fail("the value is not valid base64 (standard alphabet, padded)", value);
        data[key.value] = bytes;
      } else {
        data[key.value] = utf8.encode(value.value);
      }
    }
    const type = $("type").value.trim();
    return { metadata: { labels: {}, annotations: {} }, data, type: type || undefined };
  }

  function mode() {
    return $("mode-manifest").checked ? "manifest" : "items";
  }

  function setOutput(text) {
    state.output = text;
    $("output").value = text;
    $("copy").disabled = text === "";
    $("download").disabled = text === "";
  }

  async function onSeal(event) {
    event.preventDefault();
    clearErrors();
    setOutput("");
    const status = $("seal-status");
    status.textContent = "";
    try {
      if (!state.cert) throw new InputError("cert", "no certificate: paste one or choose its file");
      const now = new Date();
      if (state.cert.notAfter < now && !$("allow-expired").checked) {
        throw new InputError("cert", `the certificate expired on ${formatTime(state.cert.notAfter)}; tick the box below to seal with it anyway`);
      }
      let secret;
      if (mode() === "manifest") {
        secret = secretFromManifest(parseManifest($("manifest").value));
        // As kubeseal without --scope: the manifest's scope annotations choose the scope.
        const annotated = scopeFromAnnotations(secret.metadata.annotations);
        if ($("scope").value === "strict" && annotated !== "strict") $("scope").value = annotated;
      } else {
        // The fields are the Secret's own metadata here, not overrides.
        secret = await itemsSecret();
        if ($("name").value.trim()) secret.metadata.name = $("name").value.trim();
        if ($("namespace").value.trim()) secret.metadata.namespace = $("namespace").value.trim();
      }
      const manifestMode = mode() === "manifest";
      const sealed = await sealSecret(secret, {
        name: manifestMode ? $("name").value.trim() : "",
        namespace: manifestMode ? $("namespace").value.trim() : "",
        scope: $("scope").value,
        dataField: mode() === "manifest" ? "manifest" : "items",
      }, state.publicKey);
      setOutput(yamlDocument(sealed.document));
      const count = Object.keys(sealed.document.spec.encryptedData).length;
      status.textContent = `Sealed ${count} item${count === 1 ? "" : "s"} (${sealed.scope}) with ${state.cert.fingerprint}.`;
    } catch (e) {
      if (!(e instanceof InputError)) {
        status.textContent = "Sealing failed: " + (e && e.name ? e.name : "error");
        return;
      }
      if (e.item) {
        const el = e.item.querySelector(".item-error");
        el.textContent = e.message;
        el.hidden = false;
        e.input.setAttribute("aria-invalid", "true");
        e.input.focus();
      } else {
        showError(e.field, e.message);
        const focus = { cert: "cert-pem", items: "add-item" }[e.field] || e.field;
        if (e.field === "cert") $("cert-other").open = true;
        if ($(focus)) $(focus).focus();
      }
      status.textContent = "Not sealed: see the message above.";
    }
  }

  function outputFileName() {
    const name = $("name").value.trim() || "sealed-secret";
    return name.replace(/[^-._a-zA-Z0-9]/g, "_") + ".yaml";
  }

  function init() {
    $("seal-form").addEventListener("submit", onSeal);
    $("add-item").addEventListener("click", () => addItem().focus());
    for (const radio of document.querySelectorAll('input[name="mode"]')) {
      radio.addEventListener("change", () => {
        $("items-panel").hidden = mode() !== "items";
        $("manifest-panel").hidden = mode() !== "manifest";
        $("type").disabled = mode() === "manifest";
      });
    }
    $("cert-pem").addEventListener("input", () => certFromInput($("cert-pem").value, "Pasted certificate."));
    $("cert-file").addEventListener("change", async () => {
      const file = $("cert-file").files[0];
      if (!file) return;
      if (file.size > 64 * 1024) {
        showError("cert", `${file.name} is not a certificate (larger than 64 KiB)`);
        return;
      }
      await certFromInput(await file.text(), `From the file ${file.name}.`);
    });
    $("copy").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(state.output);
        $("seal-status").textContent = "Copied to the clipboard.";
      } catch {
        $("output").select();
        $("seal-status").textContent = "Select the text and copy it (the clipboard is not available here).";
      }
    });
    $("download").addEventListener("click", () => {
      const url = URL.createObjectURL(new Blob([state.output], { type: "application/yaml" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = outputFileName();
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
    addItem();
    fetchCertificate();
  }

  if (!window.crypto || !crypto.subtle) {
    document.addEventListener("DOMContentLoaded", () => {
      $("cert-source").textContent = "This browser offers no WebCrypto here: open the page over https, on localhost, or from a file.";
      $("seal").disabled = true;
    });
    return;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
