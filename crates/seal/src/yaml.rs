//! A small YAML emitter for manifests: block style, sorted keys (like `kubectl -o yaml`),
//! and quoting that keeps every string a string under both YAML 1.1 and 1.2
//! (`off`, `yes`, `0777`, `1e3`, `~` all come out quoted).

use std::fmt::Write as _;

use serde_json::Value;

use crate::secret::SecretBytes;

/// Emits one document (no `---` line) into `out`.
pub(crate) fn emit_document(value: &Value, out: &mut SecretBytes) {
    match value {
        Value::Object(map) if !map.is_empty() => emit_map(map, 0, out),
        Value::Array(items) if !items.is_empty() => emit_seq(items, 0, out),
        scalar => {
            emit_inline(scalar, out);
            out.push_char('\n');
        }
    }
}

fn emit_map(map: &serde_json::Map<String, Value>, indent: usize, out: &mut SecretBytes) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for (i, key) in keys.into_iter().enumerate() {
        // The first key of a sequence item shares the "- " line.
        if i > 0 || indent == 0 || !out.expose().ends_with(b"- ") {
            push_indent(out, indent);
        }
        emit_entry(key, &map[key], indent, out);
    }
}

fn emit_entry(key: &str, value: &Value, indent: usize, out: &mut SecretBytes) {
    emit_string(key, out);
    out.push_char(':');
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_char('\n');
            emit_map(map, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_char('\n');
            emit_seq(items, indent, out);
        }
        scalar => {
            out.push_char(' ');
            emit_inline(scalar, out);
            out.push_char('\n');
        }
    }
}

fn emit_seq(items: &[Value], indent: usize, out: &mut SecretBytes) {
    for item in items {
        push_indent(out, indent);
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push_str("- ");
                emit_map(map, indent + 2, out);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                emit_seq(inner, indent + 2, out);
            }
            scalar => {
                out.push_str("- ");
                emit_inline(scalar, out);
                out.push_char('\n');
            }
        }
    }
}

fn push_indent(out: &mut SecretBytes, indent: usize) {
    for _ in 0..indent {
        out.push_char(' ');
    }
}

fn emit_inline(value: &Value, out: &mut SecretBytes) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => emit_string(s, out),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn emit_string(s: &str, out: &mut SecretBytes) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        emit_double_quoted(s, out);
    }
}

/// Whether `s` can be written without quotes and still read back as this exact string.
fn is_plain_safe(s: &str) -> bool {
    // Every character allowed is ASCII, so bytes will do (sealed values are long).
    let Some(&first) = s.as_bytes().first() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || matches!(first, b'.' | b'_' | b'/')) {
        return false;
    }
    if !s.bytes().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/' | b'+' | b'=' | b':')
    }) {
        return false;
    }
    if s.ends_with(':') || s.contains(": ") {
        return false;
    }
    let reserved = [
        "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", ".inf", ".nan",
    ];
    if reserved.iter().any(|word| s.eq_ignore_ascii_case(word)) {
        return false;
    }
    !looks_numeric(s)
}

/// Numbers, timestamps and sexagesimals in any YAML schema are built from these characters.
fn looks_numeric(s: &str) -> bool {
    let starts_numeric = s
        .trim_start_matches(['+', '-', '.'])
        .starts_with(|c: char| c.is_ascii_digit());
    starts_numeric
        && s.chars().all(|c| {
            c.is_ascii_hexdigit()
                || matches!(
                    c,
                    'x' | 'X' | 'o' | 'O' | '_' | '.' | ':' | '+' | '-' | 'T' | 't' | 'Z' | 'z'
                )
        })
}

fn emit_double_quoted(s: &str, out: &mut SecretBytes) {
    out.push_char('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20
                || c == '\u{7f}'
                || ('\u{80}'..='\u{9f}').contains(&c)
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                let code = c as u32;
                if code <= 0xff {
                    let _ = write!(out, "\\x{code:02x}");
                } else {
                    let _ = write!(out, "\\u{code:04x}");
                }
            }
            c => out.push_char(c),
        }
    }
    out.push_char('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emit(value: &Value) -> String {
        let mut out = SecretBytes::default();
        emit_document(value, &mut out);
        out.into_utf8()
            .expect("the emitter writes UTF-8")
            .to_string()
    }

    #[test]
    fn kubectl_like_layout() {
        let value = serde_json::json!({
            "metadata": {"name": "x", "ownerReferences": [{"uid": "", "controller": true, "kind": "K"}]},
            "apiVersion": "v1",
            "data": {},
            "list": ["a", ["b"]],
        });
        assert_eq!(
            emit(&value),
            "apiVersion: v1\ndata: {}\nlist:\n- a\n-\n  - b\nmetadata:\n  name: x\n  ownerReferences:\n  - controller: true\n    kind: K\n    uid: \"\"\n"
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted_and_read_back_as_strings() {
        let tricky = [
            "off",
            "yes",
            "Y",
            "no",
            "on",
            "true",
            "False",
            "null",
            "~",
            "0777",
            "0x1F",
            "1e3",
            "1_000",
            "12:30",
            "2001-12-14",
            "-1",
            ".5",
            ".inf",
            "+1",
            "",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "#c",
            "- x",
            "[x]",
            "{x}",
            "*a",
            "&a",
            "!t",
            "|",
            ">",
            "%x",
            "@x",
            "`x",
            "'q'",
            "\"d\"",
            "multi\nline",
            "tab\there",
            "héllo",
            "\u{85}",
            "\u{feff}x",
            "AQBx+/=",
            "key:",
            "?x",
            ",x",
        ];
        for s in tricky {
            let doc = serde_json::json!({ "k": s });
            let text = emit(&doc);
            let back: std::collections::BTreeMap<String, String> =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{s:?}: {text} {e}"));
            assert_eq!(back["k"], s, "{text}");
        }
    }

    #[test]
    fn plain_where_kubectl_would_be_plain() {
        let doc = serde_json::json!({"apiVersion": "bitnami.com/v1alpha1", "b64": "AQBx+/abc=="});
        assert_eq!(
            emit(&doc),
            "apiVersion: bitnami.com/v1alpha1\nb64: AQBx+/abc==\n"
        );
    }
}
