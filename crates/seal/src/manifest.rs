//! Kubernetes manifests: `Secret` and `SealedSecret` (`bitnami.com/v1alpha1`), read from YAML
//! or JSON (single documents, `---` streams, concatenated JSON objects, `v1` `List`s) and
//! written the way kubectl and upstream kubeseal write them.
//!
//! Read with [`read_secrets`] / [`read_sealed_secrets`]; write with [`write_documents`].

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use zeroize::Zeroizing;

use crate::secret::{SecretBytes, SecretString};

/// `apiVersion` of SealedSecrets.
pub const SEALED_SECRET_API_VERSION: &str = "bitnami.com/v1alpha1";
/// `kind` of SealedSecrets.
pub const SEALED_SECRET_KIND: &str = "SealedSecret";
/// Annotations kubectl and kubecfg use to remember what was applied: they hold the plaintext.
pub const LAST_APPLIED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
];

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The part of Kubernetes `ObjectMeta` this tool reads; anything else is kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `metadata.generateName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// `metadata.namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.uid` (set by the API server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// `metadata.labels`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// `metadata.ownerReferences`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub owner_references: Vec<OwnerReference>,
    /// `metadata.finalizers`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub finalizers: Vec<String>,
    /// Every other field (`resourceVersion`, `creationTimestamp`, `managedFields`, …).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ObjectMeta {
    /// `name`, or `""`.
    #[must_use]
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// `namespace`, or `""`.
    #[must_use]
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

/// `metadata.ownerReferences[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// Owner's `apiVersion`.
    pub api_version: String,
    /// Owner's `kind`.
    pub kind: String,
    /// Owner's name.
    pub name: String,
    /// Owner's uid.
    #[serde(default)]
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether deletion of the owner waits for this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

fn kind_secret() -> String {
    "Secret".into()
}

fn api_v1() -> String {
    "v1".into()
}

/// A Kubernetes `v1` Secret. Values are held in zeroizing, redacting containers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// `kind`, normally `Secret`.
    #[serde(default = "kind_secret")]
    pub kind: String,
    /// `apiVersion`, normally `v1`.
    #[serde(default = "api_v1")]
    pub api_version: String,
    /// `metadata`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// `immutable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// `data`: bytes, base64 in the manifest.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub data: BTreeMap<String, SecretBytes>,
    /// `stringData`: text; wins over `data` for the same key.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub string_data: BTreeMap<String, SecretString>,
    /// `type`, e.g. `Opaque`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing)]
    items: Vec<Secret>,
}

impl Default for Secret {
    fn default() -> Self {
        Self {
            kind: kind_secret(),
            api_version: api_v1(),
            metadata: ObjectMeta::default(),
            immutable: None,
            data: BTreeMap::new(),
            string_data: BTreeMap::new(),
            type_: None,
            items: Vec::new(),
        }
    }
}

impl Secret {
    /// An empty Secret with this metadata.
    #[must_use]
    pub fn new(metadata: ObjectMeta) -> Self {
        Self {
            metadata,
            ..Self::default()
        }
    }
}

fn kind_sealed_secret() -> String {
    SEALED_SECRET_KIND.into()
}

fn api_bitnami() -> String {
    SEALED_SECRET_API_VERSION.into()
}

/// A SealedSecret (`bitnami.com/v1alpha1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecret {
    /// `kind`, `SealedSecret`.
    #[serde(default = "kind_sealed_secret")]
    pub kind: String,
    /// `apiVersion`, `bitnami.com/v1alpha1`.
    #[serde(default = "api_bitnami")]
    pub api_version: String,
    /// Outer metadata: its name, namespace and scope annotations decide the label.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// `spec`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: SealedSecretSpec,
    /// `status`, kept as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    items: Vec<SealedSecret>,
}

impl Default for SealedSecret {
    fn default() -> Self {
        Self {
            kind: kind_sealed_secret(),
            api_version: api_bitnami(),
            metadata: ObjectMeta::default(),
            spec: SealedSecretSpec::default(),
            status: None,
            items: Vec::new(),
        }
    }
}

impl SealedSecret {
    /// An empty SealedSecret with this outer metadata.
    #[must_use]
    pub fn new(metadata: ObjectMeta) -> Self {
        Self {
            metadata,
            ..Self::default()
        }
    }
}

/// `spec` of a SealedSecret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    /// What the produced Secret looks like apart from its data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub template: SecretTemplate,
    /// Item key → base64 sealed value.
    #[serde(default, deserialize_with = "null_as_default")]
    pub encrypted_data: BTreeMap<String, String>,
    /// Deprecated v1 format: the whole Secret as JSON, sealed once, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// `spec.template`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplate {
    /// Metadata of the produced Secret.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// Secret `type`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Secret `immutable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Go text/template strings rendered over the decrypted values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
}

/// Manifest syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (pretty-printed on output).
    Json,
    /// YAML (block style on output).
    Yaml,
}

impl Format {
    /// JSON when the first non-blank character opens an object or array, else YAML.
    #[must_use]
    pub fn detect(input: &str) -> Self {
        match input
            .trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .next()
        {
            Some('{' | '[') => Self::Json,
            _ => Self::Yaml,
        }
    }
}

/// A manifest that cannot be read. Never contains values from the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Syntax or type error.
    #[error("invalid {format} {location}: {message}")]
    Parse {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// Where, e.g. `at line 3 column 7`.
        location: String,
        /// What, with any quoted input text removed.
        message: String,
    },
    /// A document of another kind.
    #[error("document {document} is a {found}, expected a {expected}{hint}")]
    WrongKind {
        /// 1-based document index.
        document: usize,
        /// The `kind` found.
        found: String,
        /// The `kind` wanted.
        expected: &'static str,
        /// A hint for a common mistake.
        hint: &'static str,
    },
}

trait Document: DeserializeOwned {
    const KIND: &'static str;
    fn kind(&self) -> &str;
    fn take_items(&mut self) -> Vec<Self>;
}

impl Document for Secret {
    const KIND: &'static str = "Secret";
    fn kind(&self) -> &str {
        &self.kind
    }
    fn take_items(&mut self) -> Vec<Self> {
        std::mem::take(&mut self.items)
    }
}

impl Document for SealedSecret {
    const KIND: &'static str = SEALED_SECRET_KIND;
    fn kind(&self) -> &str {
        &self.kind
    }
    fn take_items(&mut self) -> Vec<Self> {
        std::mem::take(&mut self.items)
    }
}

/// Reads Secrets from YAML or JSON: one or many documents, and `List`s of them. Empty
/// documents are skipped, so the result can be empty.
pub fn read_secrets(input: &str) -> Result<Vec<Secret>, ManifestError> {
    read_documents(input)
}

/// Reads SealedSecrets from YAML or JSON, like [`read_secrets`].
pub fn read_sealed_secrets(input: &str) -> Result<Vec<SealedSecret>, ManifestError> {
    read_documents(input)
}

fn read_documents<T: Document>(input: &str) -> Result<Vec<T>, ManifestError> {
    // Windows editors and PowerShell start UTF-8 files with a byte order mark.
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let raw: Vec<T> = parse(input).map_err(|e| wrong_kind::<T>(input).unwrap_or(e))?;
    let mut out = Vec::with_capacity(raw.len());
    for (index, mut doc) in raw.into_iter().enumerate() {
        let kind = doc.kind().to_owned();
        // `items` means something on a List only. Taken from every document, so that no
        // returned object carries a field it would not write (fuzz: read_manifests).
        let items = doc.take_items();
        if kind == "List" || (kind.ends_with("List") && kind != T::KIND) {
            for mut item in items {
                check_kind(&item, index + 1)?;
                drop(item.take_items());
                out.push(item);
            }
        } else {
            check_kind(&doc, index + 1)?;
            out.push(doc);
        }
    }
    Ok(out)
}

fn parse<D: DeserializeOwned>(input: &str) -> Result<Vec<D>, ManifestError> {
    match Format::detect(input) {
        Format::Json => match serde_json::Deserializer::from_str(input)
            .into_iter::<D>()
            .collect::<Result<_, _>>()
        {
            Ok(documents) => Ok(documents),
            // `{kind: Secret, …}` is YAML in flow style, which YAML reads, as it reads JSON.
            Err(e) if e.is_syntax() => read_yaml(input).map_err(|_| json_error(&e)),
            Err(e) if e.is_data() => {
                read_json_with_scalar_string_data(input).ok_or_else(|| json_error(&e))
            }
            Err(e) => Err(json_error(&e)),
        },
        Format::Yaml => read_yaml(input),
    }
}

/// Just enough of a document to tell its kind (none: the kind read for, as `Secret` and
/// `SealedSecret` take it).
#[derive(Deserialize)]
struct KindOnly {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    items: Vec<KindOnly>,
}

/// When the input does not read as `T`s, a document of another kind is the better answer: a
/// ConfigMap's `data` is not base64, and "is a ConfigMap" says more than "not valid base64".
fn wrong_kind<T: Document>(input: &str) -> Option<ManifestError> {
    let documents: Vec<KindOnly> = parse(input).ok()?;
    let kind_of = |doc: &KindOnly| doc.kind.clone().unwrap_or_else(|| T::KIND.to_owned());
    documents.iter().enumerate().find_map(|(index, doc)| {
        let kind = kind_of(doc);
        let is_list = kind == "List" || (kind.ends_with("List") && kind != T::KIND);
        let kinds: Vec<String> = if is_list {
            doc.items.iter().map(kind_of).collect()
        } else {
            vec![kind]
        };
        kinds
            .into_iter()
            .find(|kind| kind != T::KIND)
            .map(|kind| kind_error::<T>(&kind, index + 1))
    })
}

/// `"stringData": {"port": 5432}`: kubectl refuses the number, upstream seals its text, and so
/// do we (YAML scalars are always read as their text). `None` if the input still does not read.
fn read_json_with_scalar_string_data<D: DeserializeOwned>(input: &str) -> Option<Vec<D>> {
    let mut values = serde_json::Deserializer::from_str(input)
        .into_iter::<serde_json::Value>()
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    values.iter_mut().for_each(string_data_scalars_as_text);
    let documents = values.iter().map(D::deserialize).collect::<Result<_, _>>();
    values.iter_mut().for_each(crate::secret::wipe_strings);
    documents.ok()
}

fn string_data_scalars_as_text(document: &mut serde_json::Value) {
    use serde_json::Value;
    if let Some(Value::Array(items)) = document.get_mut("items") {
        items.iter_mut().for_each(string_data_scalars_as_text);
    }
    if let Some(Value::Object(string_data)) = document.get_mut("stringData") {
        for value in string_data.values_mut() {
            let text = match value {
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                    (Some(i), _, _) => i.to_string(),
                    (_, Some(u), _) => u.to_string(),
                    // Whole floats as Go prints them: 1e3 is "1000", not "1000.0".
                    (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
                    _ => n.to_string(),
                },
                _ => continue,
            };
            *value = Value::String(text);
        }
    }
}

fn json_error(e: &serde_json::Error) -> ManifestError {
    ManifestError::Parse {
        format: "JSON",
        location: format!("at line {} column {}", e.line(), e.column()),
        message: sanitize(&strip_location(&e.to_string())),
    }
}

fn read_yaml<D: DeserializeOwned>(input: &str) -> Result<Vec<D>, ManifestError> {
    let options = serde_saphyr::options! {
        with_snippet: false,
    };
    serde_saphyr::from_multiple_with_options(input, options).map_err(|e| {
        let location = e.location().map_or_else(
            || "input".to_owned(),
            |l| format!("at line {} column {}", l.line(), l.column()),
        );
        ManifestError::Parse {
            format: "YAML",
            location,
            message: sanitize(&yaml_message(&e.to_string())),
        }
    })
}

fn check_kind<T: Document>(doc: &T, document: usize) -> Result<(), ManifestError> {
    if doc.kind() == T::KIND {
        return Ok(());
    }
    Err(kind_error::<T>(doc.kind(), document))
}

fn kind_error<T: Document>(found: &str, document: usize) -> ManifestError {
    let hint = match (T::KIND, found) {
        ("Secret", SEALED_SECRET_KIND) => " (is the input already sealed?)",
        (SEALED_SECRET_KIND, "Secret") => " (is the input still a plain Secret?)",
        _ => "",
    };
    ManifestError::WrongKind {
        document,
        found: sanitize(found),
        expected: T::KIND,
        hint,
    }
}

/// The parser's message without its own copy of the position (given once, before it) and
/// without advice meant for programs that call the parser.
fn yaml_message(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or_default();
    strip_location(first_line).replace(", set DuplicateKeyPolicy in Options if acceptable", "")
}

fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Removes quoted input text from a decoder message: serde quotes the offending value
/// (`invalid type: string "hunter2", expected a map`; numbers in backquotes), which may be a
/// secret.
fn sanitize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let close = c;
                let mut escaped = false;
                for inner in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if inner == '\\' {
                        escaped = true;
                    } else if inner == close {
                        break;
                    }
                }
                out.push(close);
                out.push('…');
                out.push(close);
            }
            c => out.push(c),
        }
    }
    if out.chars().count() > 200 {
        out = out.chars().take(200).collect();
        out.push('…');
    }
    out
}

/// Writes documents in `format`: JSON objects one after another, or YAML documents each
/// starting with `---`. Secrets hold plaintext: the output and every intermediate buffer
/// are wiped when done.
#[must_use]
pub fn write_documents<T: Serialize>(docs: &[T], format: Format) -> Zeroizing<String> {
    let mut out = SecretBytes::default();
    for doc in docs {
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, doc).expect("manifests serialize to JSON");
                out.push_char('\n');
            }
            Format::Yaml => {
                let mut value = serde_json::to_value(doc).expect("manifests serialize to JSON");
                out.push_str("---\n");
                crate::yaml::emit_document(&value, &mut out);
                crate::secret::wipe_strings(&mut value);
            }
        }
    }
    out.into_utf8()
        .expect("JSON and the YAML emitter write whole UTF-8 strings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_stream_list_and_json_stream() {
        let yaml = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: a}\ndata: {k: MQ==}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  metadata: {name: b}\n- kind: Secret\n  metadata: {name: c}\n";
        let names: Vec<_> = read_secrets(yaml)
            .unwrap()
            .iter()
            .map(|s| s.metadata.name().to_owned())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        let json = r#"{"kind":"Secret","metadata":{"name":"a"}} {"kind":"Secret","metadata":{"name":"b"}}"#;
        assert_eq!(read_secrets(json).unwrap().len(), 2);
        assert!(read_secrets("").unwrap().is_empty());
        assert!(read_secrets("---\n").unwrap().is_empty());
    }

    #[test]
    fn yaml_11_lookalikes_stay_strings() {
        let yaml = "kind: Secret\nmetadata:\n  name: x\n  labels: {a: off, b: yes, c: 0777}\nstringData:\n  a: off\n  b: yes\n  c: 0777\n  d: 1e3\n  e: ~\n";
        let secret = &read_secrets(yaml).unwrap()[0];
        let get = |k: &str| secret.string_data[k].expose().to_owned();
        assert_eq!(get("a"), "off");
        assert_eq!(get("b"), "yes");
        assert_eq!(get("c"), "0777");
        assert_eq!(get("d"), "1e3");
        assert_eq!(get("e"), "");
        assert_eq!(secret.metadata.labels["c"], "0777");
    }

    #[test]
    fn wrong_kind_is_named() {
        let err = read_secrets("kind: SealedSecret\nmetadata: {name: x}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "document 1 is a SealedSecret, expected a Secret (is the input already sealed?)"
        );
        let err = read_secrets("kind: ConfigMap\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "document 1 is a ConfigMap, expected a Secret"
        );
    }

    #[test]
    fn json_starting_with_a_byte_order_mark_reads() {
        let json = "\u{feff}{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"stringData\":{\"a\":\"x\"}}";
        let secrets = read_secrets(json).unwrap();
        assert_eq!(secrets[0].string_data["a"].expose(), "x");
    }

    #[test]
    fn flow_style_yaml_starting_with_a_brace_reads_as_yaml() {
        let yaml = "{kind: Secret, metadata: {name: s}, stringData: {a: x}}\n";
        let secrets = read_secrets(yaml).unwrap();
        assert_eq!(secrets[0].string_data["a"].expose(), "x");
        // Broken JSON is still reported as JSON.
        let err = read_secrets("{\"kind\": \"Secret\" \"x\"}").unwrap_err();
        assert!(
            err.to_string().starts_with("invalid JSON at line 1"),
            "{err}"
        );
    }

    #[test]
    fn json_numbers_and_booleans_in_string_data_are_sealed_as_their_text() {
        let json = r#"{"kind":"List","items":[{"kind":"Secret","metadata":{"name":"s"},
            "stringData":{"port":5432,"neg":-7,"ratio":1.5,"big":1e3,"on":true,"none":null}}]}"#;
        let secrets = read_secrets(json).unwrap();
        let text = |k: &str| secrets[0].string_data[k].expose().to_owned();
        assert_eq!(
            ["port", "neg", "ratio", "big", "on", "none"].map(text),
            ["5432", "-7", "1.5", "1000", "true", ""]
        );
        // Anything else that is not a string is still refused, with its position.
        let err = read_secrets(r#"{"kind":"Secret","stringData":{"a":[1]}}"#).unwrap_err();
        assert!(err.to_string().contains("at line 1 column"), "{err}");
        let err = read_secrets(r#"{"kind":"Secret","data":{"a":5}}"#).unwrap_err();
        assert!(
            err.to_string().contains("expected a base64 string"),
            "{err}"
        );
    }

    #[test]
    fn a_config_map_is_named_as_such_even_when_its_data_is_not_base64() {
        for input in [
            "kind: ConfigMap\nmetadata: {name: c}\ndata: {color: not base64!}\n",
            "kind: List\nitems:\n- kind: Secret\n  data: {a: b2s=}\n- kind: ConfigMap\n  data: {a: b!}\n",
        ] {
            let err = read_secrets(input).unwrap_err();
            assert_eq!(
                err.to_string(),
                "document 1 is a ConfigMap, expected a Secret",
                "{input:?}"
            );
        }
        // A Secret with bad data still gets the data error.
        let err = read_secrets("metadata: {name: c}\ndata: {a: b!}\n").unwrap_err();
        assert!(err.to_string().contains("not valid base64"), "{err}");
    }

    #[test]
    fn yaml_errors_give_the_position_once_and_no_parser_advice() {
        let err = read_secrets("kind: Secret\nstringData:\n  a: x\n  a: y\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid YAML at line 4 column 3: duplicate mapping key: a"
        );
    }

    #[test]
    fn parse_errors_never_echo_values() {
        let inputs = [
            "kind: Secret\ndata: hunter2\n",
            "kind: Secret\nstringData: [hunter2]\n",
            "kind: Secret\ndata: {a: \"hunter2!!\"}\n",
            "{\"kind\": \"Secret\", \"data\": \"hunter2\"}",
            "{\"kind\": \"Secret\", \"stringData\": {\"a\": [\"hunter2\"]}}",
            "kind: Secret\nstringData:\n  a: hunter2\n b: [",
            "{\"kind\": \"Secret\", \"data\": {\"a\": \"hunter2",
            "{\"kind\": \"Secret\", \"data\": {\"a\": 73310731}}",
            "{\"kind\": \"Secret\", \"data\": 73310731}",
            "kind: Secret\ndata: 73310731\n",
            "kind: Secret\nstringData: 73310731\n",
        ];
        for input in inputs {
            let err = read_secrets(input).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("hunter2"), "{input:?} -> {text}");
            assert!(!text.contains("73310731"), "{input:?} -> {text}");
        }
    }

    #[test]
    fn yaml_output_round_trips_and_starts_each_document_with_dashes() {
        let yaml = "kind: Secret\napiVersion: v1\nmetadata:\n  name: x\n  namespace: ns\ndata:\n  off: b2Zm\ntype: Opaque\n";
        let secrets = read_secrets(yaml).unwrap();
        let out = write_documents(&[secrets[0].clone(), secrets[0].clone()], Format::Yaml);
        assert!(out.starts_with("---\napiVersion: v1\n"));
        assert!(!out.ends_with("---\n"));
        assert_eq!(
            read_secrets(&out).unwrap(),
            [secrets[0].clone(), secrets[0].clone()]
        );
        let json = write_documents(&secrets, Format::Json);
        assert!(json.starts_with("{\n  \"kind\": \"Secret\",\n  \"apiVersion\": \"v1\","));
        assert_eq!(read_secrets(&json).unwrap(), secrets);
    }

    /// Found by the `read_manifests` fuzz target: a Secret (or a List item) with an `items`
    /// field kept it in a hidden field that is never written, so the written output re-read
    /// to an unequal object.
    #[test]
    fn items_on_a_non_list_document_do_not_survive_reading() {
        let inputs = [
            "kind: Secret\nmetadata: {name: a}\nitems:\n- kind: Secret\n  metadata: {name: b}\n",
            "items:\n- kind: Secret\n",
            "kind: List\nitems:\n- kind: Secret\n  items: [{kind: Secret}]\n",
        ];
        for input in inputs {
            let secrets = read_secrets(input).unwrap();
            assert_eq!(secrets.len(), 1, "{input}");
            for format in [Format::Yaml, Format::Json] {
                let out = write_documents(&secrets, format);
                assert_eq!(read_secrets(&out).unwrap(), secrets, "{input}");
            }
        }
        let sealed =
            read_sealed_secrets("kind: SealedSecret\nitems: [{kind: SealedSecret}]\n").unwrap();
        let out = write_documents(&sealed, Format::Yaml);
        assert_eq!(read_sealed_secrets(&out).unwrap(), sealed);
    }

    #[test]
    fn format_detection() {
        assert_eq!(Format::detect("  \n{"), Format::Json);
        assert_eq!(Format::detect("\u{feff}{"), Format::Json);
        assert_eq!(Format::detect("kind: x"), Format::Yaml);
        assert_eq!(Format::detect(""), Format::Yaml);
    }
}
