//! The checks: pure functions from one document (and what the command line gave) to findings.
//! No finding ever holds a Secret's value.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use seal::scope::{CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION};
use seal::{Keyring, ObjectMeta, Scope, SealedSecret, UnsealError};

use super::document::{Node, Value};
use crate::escrow;
use crate::sealed_with;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Must be fixed: exit status 1.
    Error,
    /// Worth a look: exit status 1 only with `--warnings-as-errors`.
    Warning,
}

impl Level {
    /// `error` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One problem, at a line of a file (0: the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line, 0 for the file as a whole.
    pub line: usize,
    /// How bad.
    pub level: Level,
    /// Stable rule id, e.g. `plaintext-secret`.
    pub rule: &'static str,
    /// What is wrong (names and keys, never values).
    pub message: String,
}

impl Finding {
    fn error(line: usize, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            line,
            level: Level::Error,
            rule,
            message: message.into(),
        }
    }

    fn warning(line: usize, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            line,
            level: Level::Warning,
            rule,
            message: message.into(),
        }
    }
}

/// A certificate given with `--cert`: what the checks need of it.
#[derive(Debug, Clone)]
pub struct KnownCert {
    /// Where it came from, for messages.
    pub source: String,
    /// Its key's size in bytes (the size of an RSA ciphertext for it).
    pub key_bytes: usize,
    /// `notAfter` in the past.
    pub expired_on: Option<String>,
}

/// What every document is checked against.
#[derive(Default)]
pub struct Context {
    /// `--cert`: key fingerprint → certificate. `None` without `--cert`.
    pub certs: Option<BTreeMap<String, KnownCert>>,
    /// Private keys (`--recovery-private-key`, `--keyring`): values must open with them.
    pub keyring: Option<Keyring>,
    /// Keep each SealedSecret's identity and values in [`Identity::object`] (for asking the
    /// controller afterwards).
    pub keep_objects: bool,
    /// `--escrow-recipient`: every SealedSecret must have a current escrow copy to (at least)
    /// these recipient ids. `None` without the flag: only stale or broken copies are reported.
    pub escrow_recipients: Option<BTreeSet<String>>,
}

/// What a SealedSecret contributes to the checks across files.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// Line of the document.
    pub line: usize,
    /// Fingerprints of its sealed-with annotation, if any.
    pub sealed_with: Option<BTreeSet<String>>,
    /// Name, namespace, annotations and values, with [`Context::keep_objects`].
    pub object: Option<SealedSecret>,
}

/// The findings of one document and, for a SealedSecret, its identity.
#[derive(Debug, Default)]
pub struct Checked {
    /// Problems found.
    pub findings: Vec<Finding>,
    /// The SealedSecrets found (several for a `List`).
    pub sealed: Vec<Identity>,
}

const MAX_LIST_NESTING: usize = 4;
/// Smallest and largest RSA ciphertexts of keys anyone seals with (1024 to 8192 bits).
const RSA_BYTES: std::ops::RangeInclusive<usize> = 128..=1024;
/// AES-GCM tag after the RSA part.
const GCM_TAG: usize = 16;

/// Checks one top-level document.
#[must_use]
pub fn check_document(doc: &Node, context: &Context) -> Checked {
    let mut out = Checked::default();
    check_nested(doc, context, &mut out, 0);
    out
}

fn check_nested(doc: &Node, context: &Context, out: &mut Checked, depth: usize) {
    let kind = doc.str_at("kind");
    if kind.ends_with("List") {
        if depth >= MAX_LIST_NESTING {
            out.findings.push(Finding::error(
                doc.line,
                "structure",
                "Lists nested too deeply: not checked",
            ));
            return;
        }
        if let Some(Node {
            value: Value::Seq(items),
            ..
        }) = doc.get("items")
        {
            for item in items {
                check_nested(item, context, out, depth + 1);
            }
        }
        return;
    }
    match kind {
        // Another API group's kind `Secret` is not a Kubernetes Secret.
        "Secret" if matches!(doc.str_at("apiVersion"), "" | "v1") => {
            out.findings.extend(check_secret(doc));
        }
        "SealedSecret" => {
            let (findings, identity) = check_sealed_secret(doc, context);
            out.findings.extend(findings);
            out.sealed.push(identity);
        }
        _ => {}
    }
}

/// A plaintext Secret with any value is an error; the values are never shown.
#[must_use]
pub fn check_secret(doc: &Node) -> Vec<Finding> {
    let name = doc.get("metadata").map_or("", |m| m.str_at("name"));
    let mut findings = Vec::new();
    for field in ["data", "stringData"] {
        let Some(entry) = doc.entry(field) else {
            continue;
        };
        let filled = entry
            .value
            .entries()
            .iter()
            .filter(|e| !e.value.is_empty())
            .count();
        if filled > 0 {
            findings.push(Finding::error(
                entry.line,
                "plaintext-secret",
                format!(
                    "plaintext Secret {name:?}: {field} holds {filled} value(s) (not shown); seal it with kubeseal and keep only the SealedSecret"
                ),
            ));
        }
    }
    findings
}

fn is_true(annotations: &BTreeMap<String, String>, key: &str) -> bool {
    annotations.get(key).is_some_and(|v| v == "true")
}

fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    node.map(|n| {
        n.entries()
            .iter()
            .filter_map(|e| Some((e.key.clone(), e.value.as_str()?.to_owned())))
            .collect()
    })
    .unwrap_or_default()
}

/// Checks a SealedSecret: identity and scope, template, every value's layout, the sealing
/// certificate, and whether the values open.
#[must_use]
pub fn check_sealed_secret(doc: &Node, context: &Context) -> (Vec<Finding>, Identity) {
    let mut findings = Vec::new();
    let api_version = doc.str_at("apiVersion");
    if api_version != seal::manifest::SEALED_SECRET_API_VERSION {
        let line = doc.entry("apiVersion").map_or(doc.line, |e| e.line);
        findings.push(Finding::error(
            line,
            "structure",
            format!(
                "apiVersion is {api_version:?}: a SealedSecret's is {:?}",
                seal::manifest::SEALED_SECRET_API_VERSION
            ),
        ));
    }
    let metadata = doc.get("metadata");
    let meta_line = doc.entry("metadata").map_or(doc.line, |e| e.line);
    let name = metadata.map_or("", |m| m.str_at("name")).to_owned();
    let namespace = metadata.map_or("", |m| m.str_at("namespace")).to_owned();
    let annotations = string_map(metadata.and_then(|m| m.get("annotations")));
    // An annotation's finding points at the annotation; else at `metadata:`.
    let annotation_line = |key: &str| {
        metadata
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.entry(key))
            .map_or(meta_line, |e| e.line)
    };
    findings.extend(scope_findings(&annotations, &name, &namespace, meta_line));
    if let Some(both) = findings
        .iter_mut()
        .find(|f| f.rule == "scope" && f.level == Level::Error)
    {
        both.line = annotation_line(NAMESPACE_WIDE_ANNOTATION)
            .max(annotation_line(CLUSTER_WIDE_ANNOTATION));
    }

    let spec = doc.get("spec");
    let template_meta = spec
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"));
    if let Some(template_meta) = template_meta {
        for (field, outer) in [("name", &name), ("namespace", &namespace)] {
            let Some(entry) = template_meta.entry(field) else {
                continue;
            };
            let inner = entry.value.as_str().unwrap_or_default();
            if !inner.is_empty() && inner != outer {
                findings.push(Finding::error(
                    entry.line,
                    "template-metadata",
                    format!(
                        "spec.template.metadata.{field} is {inner:?} but metadata.{field} is {outer:?}: the Secret gets metadata.{field}"
                    ),
                ));
            }
        }
    }
    if let Some(data) = spec
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("data"))
    {
        for entry in data.entries() {
            let Some(source) = entry.value.as_str() else {
                continue;
            };
            if let Err(e) = gotemplate::check(source) {
                findings.push(Finding::error(
                    entry.line,
                    "template",
                    format!("spec.template.data.{}: {e}", entry.key),
                ));
            }
        }
    }

    let encrypted = spec.and_then(|s| s.entry("encryptedData"));
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    if let Some(encrypted) = encrypted {
        if !matches!(encrypted.value.value, Value::Map(_) | Value::Null) {
            findings.push(Finding::error(
                encrypted.line,
                "structure",
                "spec.encryptedData is not a mapping",
            ));
        }
        for entry in encrypted.value.entries() {
            let at = format!("spec.encryptedData.{}", entry.key);
            match entry.value.as_str() {
                Some(text) => {
                    findings.extend(value_findings(&at, text, entry.line, context));
                    values.insert(entry.key.clone(), text.to_owned());
                }
                None => findings.push(Finding::error(
                    entry.line,
                    "structure",
                    format!("{at} is not a string"),
                )),
            }
        }
    }
    let legacy = spec.and_then(|s| s.entry("data"));
    if let Some(legacy) = legacy {
        findings.push(Finding::warning(
            legacy.line,
            "deprecated-data",
            "spec.data is the deprecated v1 format: re-encrypt to get spec.encryptedData",
        ));
        if let Some(text) = legacy.value.as_str() {
            findings.extend(value_findings("spec.data", text, legacy.line, context));
        }
    }
    let has_template_data = spec
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("data"))
        .is_some_and(|d| !d.is_empty());
    if values.is_empty() && legacy.is_none() && !has_template_data {
        findings.push(Finding::warning(
            encrypted.map_or(doc.line, |e| e.line),
            "empty",
            "no spec.encryptedData: the Secret will hold no data",
        ));
    }

    findings.extend(escrow_findings(
        &annotations,
        &values,
        context.escrow_recipients.as_ref(),
        meta_line,
    ));
    let sealed_with = sealed_with::fingerprints(&annotations);
    if let Some(certs) = &context.certs {
        findings.extend(cert_findings(
            sealed_with.as_ref(),
            certs,
            annotation_line(sealed_with::ANNOTATION),
        ));
    }
    let mut object = None;
    if context.keyring.is_some() || context.keep_objects {
        let mut sealed = SealedSecret::new(ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(namespace.clone()),
            annotations: annotations.clone(),
            ..ObjectMeta::default()
        });
        sealed.spec.encrypted_data = values;
        sealed.spec.data = legacy.and_then(|l| l.value.as_str()).map(str::to_owned);
        if let Some(keyring) = &context.keyring {
            findings.extend(open_findings(
                &sealed,
                keyring,
                doc,
                encrypted.map(|e| &e.value),
            ));
        }
        object = context.keep_objects.then_some(sealed);
    }
    let identity = Identity {
        namespace,
        name,
        line: doc.line,
        sealed_with,
        object,
    };
    (findings, identity)
}

/// Scope: both annotations, or a strict/namespace-wide scope missing what its label needs.
#[must_use]
pub fn scope_findings(
    annotations: &BTreeMap<String, String>,
    name: &str,
    namespace: &str,
    line: usize,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if is_true(annotations, CLUSTER_WIDE_ANNOTATION)
        && is_true(annotations, NAMESPACE_WIDE_ANNOTATION)
    {
        findings.push(Finding::error(
            line,
            "scope",
            format!(
                "both {CLUSTER_WIDE_ANNOTATION} and {NAMESPACE_WIDE_ANNOTATION} are set: the controller takes cluster-wide"
            ),
        ));
    }
    if name.is_empty() {
        findings.push(Finding::error(line, "structure", "no metadata.name"));
    }
    let scope = Scope::from_annotations(annotations);
    if scope != Scope::ClusterWide && namespace.is_empty() {
        findings.push(Finding::warning(
            line,
            "scope",
            format!(
                "{scope} scope without metadata.namespace: the values open only in the namespace they were sealed for"
            ),
        ));
    }
    findings
}

/// The layout of one sealed value: base64, the length prefix, the RSA part's size.
#[must_use]
pub fn value_findings(at: &str, text: &str, line: usize, context: &Context) -> Vec<Finding> {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text) else {
        return vec![Finding::error(line, "value", format!("{at} is not base64"))];
    };
    let Some(prefix) = bytes.get(..2) else {
        return vec![Finding::error(
            line,
            "value",
            format!(
                "{at} is too short to be a sealed value ({} bytes)",
                bytes.len()
            ),
        )];
    };
    let rsa_len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
    if !RSA_BYTES.contains(&rsa_len) {
        return vec![Finding::error(
            line,
            "value",
            format!(
                "{at}: the length prefix announces {rsa_len} bytes of RSA ciphertext, which no RSA key of 1024 to 8192 bits produces"
            ),
        )];
    }
    if bytes.len() < 2 + rsa_len + GCM_TAG {
        return vec![Finding::error(
            line,
            "value",
            format!(
                "{at} is too short: {} bytes, but the length prefix and the AES-GCM tag need at least {}",
                bytes.len(),
                2 + rsa_len + GCM_TAG
            ),
        )];
    }
    if let Some(certs) = &context.certs
        && !certs.is_empty()
        && !certs.values().any(|c| c.key_bytes == rsa_len)
    {
        let sizes: BTreeSet<usize> = certs.values().map(|c| c.key_bytes * 8).collect();
        let sizes: Vec<String> = sizes.iter().map(ToString::to_string).collect();
        return vec![Finding::error(
            line,
            "key-size",
            format!(
                "{at} was sealed with a {}-bit key; the given certificates have {}-bit keys",
                rsa_len * 8,
                sizes.join("/")
            ),
        )];
    }
    Vec::new()
}

/// The sealed-with annotation against the `--cert` set.
#[must_use]
pub fn cert_findings(
    sealed_with: Option<&BTreeSet<String>>,
    certs: &BTreeMap<String, KnownCert>,
    line: usize,
) -> Vec<Finding> {
    let Some(sealed_with) = sealed_with else {
        return vec![Finding::warning(
            line,
            "no-sealed-with",
            format!(
                "no {} annotation: cannot tell which certificate sealed it (re-seal or `kubeseal reencrypt` to record it)",
                sealed_with::ANNOTATION
            ),
        )];
    };
    let mut findings = Vec::new();
    for fingerprint in sealed_with {
        match certs.get(fingerprint) {
            None => findings.push(Finding::error(
                line,
                "unknown-cert",
                format!("sealed with {fingerprint}, which is not one of the given certificates"),
            )),
            Some(KnownCert {
                source,
                expired_on: Some(when),
                ..
            }) => findings.push(Finding::warning(
                line,
                "expired-cert",
                format!("sealed with {fingerprint}, whose certificate {source} expired on {when}"),
            )),
            Some(_) => {}
        }
    }
    findings
}

/// The escrow copy: broken or stale (an error when `expected` recipients are given, else a
/// warning); with `expected`, also missing, or not encrypted to every expected recipient.
#[must_use]
pub fn escrow_findings(
    annotations: &BTreeMap<String, String>,
    encrypted_data: &BTreeMap<String, String>,
    expected: Option<&BTreeSet<String>>,
    line: usize,
) -> Vec<Finding> {
    let level = if expected.is_some() {
        Level::Error
    } else {
        Level::Warning
    };
    match escrow::status(annotations, encrypted_data) {
        Err(e) => return vec![Finding::error(line, "escrow", e.to_string())],
        Ok(escrow::Status::Stale(why)) => {
            return vec![Finding {
                line,
                level,
                rule: "stale-escrow",
                message: format!(
                    "the escrow copy is stale: {why}; re-seal the Secret with --escrow-recipient"
                ),
            }];
        }
        Ok(escrow::Status::Missing) => {
            return match expected {
                Some(_) => vec![Finding::error(
                    line,
                    "no-escrow",
                    format!(
                        "no escrow copy ({} annotation): without the cluster's key its values cannot be recovered; re-seal with --escrow-recipient",
                        escrow::ESCROW
                    ),
                )],
                None => Vec::new(),
            };
        }
        Ok(escrow::Status::Current) => {}
    }
    let Some(expected) = expected else {
        return Vec::new();
    };
    let Some(recorded) = escrow::recipients_of(annotations) else {
        return vec![Finding::warning(
            line,
            "escrow-recipients",
            format!(
                "no {} annotation: cannot tell whom the escrow copy is encrypted to",
                escrow::ESCROW_RECIPIENTS
            ),
        )];
    };
    expected
        .iter()
        .filter(|id| !recorded.contains(*id))
        .map(|id| {
            Finding::error(
                line,
                "escrow-recipients",
                format!("the escrow copy is not encrypted to {id}"),
            )
        })
        .collect()
}

/// Values that do not open with the given keys, each at its own line.
fn open_findings(
    sealed: &SealedSecret,
    keyring: &Keyring,
    doc: &Node,
    encrypted: Option<&Node>,
) -> Vec<Finding> {
    match seal::verify(sealed, keyring) {
        Ok(()) => Vec::new(),
        Err(UnsealError::Items(items)) => items
            .into_iter()
            .map(|(key, error)| {
                let line = encrypted
                    .and_then(|e| e.entry(&key))
                    .map_or(doc.line, |e| e.line);
                let at = if key == "data" && sealed.spec.data.is_some() {
                    "spec.data".to_owned()
                } else {
                    format!("spec.encryptedData.{key}")
                };
                Finding::error(
                    line,
                    "does-not-open",
                    format!("{at} does not open with the given keys: {error}"),
                )
            })
            .collect(),
        Err(e) => vec![Finding::error(doc.line, "does-not-open", e.to_string())],
    }
}

/// Every SealedSecret after the first with the same namespace and name: `(index into
/// identities, index of the first)`.
#[must_use]
pub fn duplicates(identities: &[(usize, &Identity)]) -> Vec<(usize, usize)> {
    let mut first: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, (_, identity)) in identities.iter().enumerate() {
        if identity.name.is_empty() {
            continue;
        }
        let key = (identity.namespace.as_str(), identity.name.as_str());
        match first.get(&key) {
            Some(&j) => out.push((i, j)),
            None => {
                first.insert(key, i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::document::parse;

    fn doc(text: &str) -> Node {
        parse(text).unwrap().remove(0)
    }

    fn rules(findings: &[Finding]) -> Vec<(usize, &'static str)> {
        findings.iter().map(|f| (f.line, f.rule)).collect()
    }

    #[test]
    fn plaintext_secret_values_are_errors_without_the_values() {
        let d = doc(
            "kind: Secret\nmetadata: {name: s}\ndata:\n  a: aHVudGVyMg==\nstringData:\n  b: ''\n",
        );
        let findings = check_secret(&d);
        assert_eq!(rules(&findings), [(3, "plaintext-secret")]);
        assert!(!findings[0].message.contains("aHVudGVyMg"));
        assert!(check_secret(&doc("kind: Secret\ndata: {}\n")).is_empty());
        let foreign = doc("apiVersion: example.com/v1\nkind: Secret\ndata: {a: b}\n");
        assert!(
            check_document(&foreign, &Context::default())
                .findings
                .is_empty()
        );
    }

    #[test]
    fn value_layout() {
        let context = Context::default();
        assert_eq!(
            rules(&value_findings("k", "***", 1, &context)),
            [(1, "value")]
        );
        assert_eq!(
            rules(&value_findings("k", "AQ==", 1, &context)),
            [(1, "value")]
        );
        // A prefix of 256 bytes with nothing after it.
        assert_eq!(
            rules(&value_findings("k", "AQA=", 1, &context)),
            [(1, "value")]
        );
        let ok =
            base64::engine::general_purpose::STANDARD.encode([&[1u8, 0][..], &[0; 272]].concat());
        assert!(value_findings("k", &ok, 1, &context).is_empty());
        let certs = BTreeMap::from([(
            "SHA256:x".to_owned(),
            KnownCert {
                source: "c".into(),
                key_bytes: 512,
                expired_on: None,
            },
        )]);
        let context = Context {
            certs: Some(certs),
            ..Context::default()
        };
        let found = value_findings("k", &ok, 1, &context);
        assert_eq!(rules(&found), [(1, "key-size")]);
        assert!(found[0].message.contains("2048-bit") && found[0].message.contains("4096-bit"));
    }

    #[test]
    fn scopes() {
        let both = BTreeMap::from([
            (CLUSTER_WIDE_ANNOTATION.to_owned(), "true".to_owned()),
            (NAMESPACE_WIDE_ANNOTATION.to_owned(), "true".to_owned()),
        ]);
        assert_eq!(rules(&scope_findings(&both, "n", "", 2)), [(2, "scope")]);
        assert_eq!(
            rules(&scope_findings(&BTreeMap::new(), "", "", 2)),
            [(2, "structure"), (2, "scope")]
        );
        assert!(scope_findings(&BTreeMap::new(), "n", "ns", 2).is_empty());
    }

    #[test]
    fn duplicates_point_at_the_first() {
        let id = |ns: &str, name: &str| Identity {
            namespace: ns.into(),
            name: name.into(),
            line: 1,
            sealed_with: None,
            object: None,
        };
        let (a, b, c, d) = (
            id("ns", "a"),
            id("ns", "b"),
            id("ns", "a"),
            id("other", "a"),
        );
        let all = [(0, &a), (0, &b), (1, &c), (1, &d)];
        assert_eq!(duplicates(&all), [(2, 0)]);
    }
}
