//! The sealed-with annotation: which sealing keys' certificates sealed a SealedSecret's values.
//!
//! `sealed-secrets-rs/sealed-with: SHA256:…[,SHA256:…]` on the SealedSecret's own (outer)
//! metadata, never its template: controllers build the Secret from `spec.template.metadata`
//! only, so neither ours nor upstream's copies it into the Secret, and upstream's ignores
//! unknown annotations. The value lists the key fingerprints (as `kubeseal keys list` shows
//! them) of every certificate that sealed one of the values, sorted, comma-separated. It may
//! name a key no value uses any more (after `--merge-into` replaced that key's items), never
//! omit one that does: a retired key is only ever reported as still in use.

use std::collections::{BTreeMap, BTreeSet};

/// The annotation's name.
pub const ANNOTATION: &str = "sealed-secrets-rs/sealed-with";

/// The fingerprints the annotation lists, or `None` when it is absent or empty.
#[must_use]
pub fn fingerprints(annotations: &BTreeMap<String, String>) -> Option<BTreeSet<String>> {
    let set: BTreeSet<String> = annotations
        .get(ANNOTATION)?
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    (!set.is_empty()).then_some(set)
}

/// Records that every value was sealed with `fingerprint` (sealing, re-encrypting), or
/// removes the annotation when `record` is off (`--no-sealed-with`).
pub fn set(annotations: &mut BTreeMap<String, String>, fingerprint: &str, record: bool) {
    if record {
        annotations.insert(ANNOTATION.to_owned(), fingerprint.to_owned());
    } else {
        annotations.remove(ANNOTATION);
    }
}

/// The annotation after `--merge-into` added items sealed with `fingerprint` to a file whose
/// annotation was `before`: when every old item was replaced, only `fingerprint`; else the
/// union with what the file said; and nothing when the file did not say (its remaining items
/// were sealed with an unknown key, and naming only the new one would be a lie).
#[must_use]
pub fn after_merge(
    before: Option<BTreeSet<String>>,
    fingerprint: &str,
    every_old_item_replaced: bool,
) -> Option<String> {
    let mut set = if every_old_item_replaced {
        BTreeSet::new()
    } else {
        before?
    };
    set.insert(fingerprint.to_owned());
    Some(set.into_iter().collect::<Vec<_>>().join(","))
}

/// Applies [`after_merge`] to the merged file's annotations.
pub fn merge(
    annotations: &mut BTreeMap<String, String>,
    fingerprint: &str,
    every_old_item_replaced: bool,
    record: bool,
) {
    let value = after_merge(
        fingerprints(annotations),
        fingerprint,
        every_old_item_replaced,
    );
    match value {
        Some(value) if record => {
            annotations.insert(ANNOTATION.to_owned(), value);
        }
        _ => {
            annotations.remove(ANNOTATION);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reading_ignores_blanks_and_order() {
        let mut annotations = BTreeMap::new();
        assert_eq!(fingerprints(&annotations), None);
        annotations.insert(ANNOTATION.into(), " ,".into());
        assert_eq!(fingerprints(&annotations), None);
        annotations.insert(ANNOTATION.into(), "SHA256:b, SHA256:a".into());
        assert_eq!(
            fingerprints(&annotations),
            Some(set_of(&["SHA256:a", "SHA256:b"]))
        );
    }

    #[test]
    fn merging_never_drops_a_key_still_in_use() {
        let a = Some(set_of(&["SHA256:a"]));
        assert_eq!(
            after_merge(a.clone(), "SHA256:b", false).as_deref(),
            Some("SHA256:a,SHA256:b")
        );
        assert_eq!(
            after_merge(a, "SHA256:b", true).as_deref(),
            Some("SHA256:b")
        );
        assert_eq!(after_merge(None, "SHA256:b", false), None);
        assert_eq!(
            after_merge(None, "SHA256:b", true).as_deref(),
            Some("SHA256:b")
        );
    }

    #[test]
    fn turning_it_off_removes_it() {
        let mut annotations = BTreeMap::from([(ANNOTATION.to_owned(), "SHA256:a".to_owned())]);
        merge(&mut annotations, "SHA256:b", false, false);
        assert!(annotations.is_empty());
        set(&mut annotations, "SHA256:b", true);
        assert_eq!(annotations[ANNOTATION], "SHA256:b");
        set(&mut annotations, "SHA256:b", false);
        assert!(annotations.is_empty());
    }
}
