//! Scopes: which names and namespaces a sealed value may be opened under.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Annotation that makes a SealedSecret cluster-wide (wins over namespace-wide).
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";
/// Annotation that makes a SealedSecret namespace-wide.
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";

/// How tightly a sealed value is bound to its SealedSecret's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Scope {
    /// Bound to namespace and name (label `"<ns>/<name>"`). The default.
    #[default]
    Strict,
    /// Bound to the namespace only (label `"<ns>"`).
    NamespaceWide,
    /// Bound to nothing (empty label).
    ClusterWide,
}

impl Scope {
    /// Reads the scope from annotations. Only the exact string `"true"` counts;
    /// cluster-wide wins when both are set.
    #[must_use]
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Self {
        let is_true = |key: &str| annotations.get(key).is_some_and(|v| v == "true");
        if is_true(CLUSTER_WIDE_ANNOTATION) {
            Self::ClusterWide
        } else if is_true(NAMESPACE_WIDE_ANNOTATION) {
            Self::NamespaceWide
        } else {
            Self::Strict
        }
    }

    /// The OAEP label for a SealedSecret `name` in `namespace` (note the slash in strict).
    #[must_use]
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Self::Strict => format!("{namespace}/{name}").into_bytes(),
            Self::NamespaceWide => namespace.as_bytes().to_vec(),
            Self::ClusterWide => Vec::new(),
        }
    }

    /// Rewrites the scope annotations in place to say exactly this scope.
    pub fn write_annotations(self, annotations: &mut BTreeMap<String, String>) {
        annotations.remove(CLUSTER_WIDE_ANNOTATION);
        annotations.remove(NAMESPACE_WIDE_ANNOTATION);
        match self {
            Self::Strict => {}
            Self::NamespaceWide => {
                annotations.insert(NAMESPACE_WIDE_ANNOTATION.into(), "true".into());
            }
            Self::ClusterWide => {
                annotations.insert(CLUSTER_WIDE_ANNOTATION.into(), "true".into());
            }
        }
    }

    /// The name used on the command line: `strict`, `namespace-wide`, `cluster-wide`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::NamespaceWide => "namespace-wide",
            Self::ClusterWide => "cluster-wide",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text of an unknown scope name, as upstream words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: strict, namespace-wide, cluster-wide")]
pub struct UnknownScope;

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Self::Strict),
            "namespace-wide" => Ok(Self::NamespaceWide),
            "cluster-wide" => Ok(Self::ClusterWide),
            _ => Err(UnknownScope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn labels_match_upstream_vectors() {
        assert_eq!(Scope::Strict.label("myns", "myname"), b"myns/myname");
        assert_eq!(Scope::NamespaceWide.label("myns", "myname"), b"myns");
        assert_eq!(Scope::ClusterWide.label("myns", "myname"), b"");
    }

    #[test]
    fn annotations_decide_and_cluster_wide_wins() {
        let cases = [
            (vec![], Scope::Strict),
            (
                vec![(NAMESPACE_WIDE_ANNOTATION, "true")],
                Scope::NamespaceWide,
            ),
            (vec![(CLUSTER_WIDE_ANNOTATION, "true")], Scope::ClusterWide),
            (
                vec![
                    (NAMESPACE_WIDE_ANNOTATION, "true"),
                    (CLUSTER_WIDE_ANNOTATION, "true"),
                ],
                Scope::ClusterWide,
            ),
            (vec![(CLUSTER_WIDE_ANNOTATION, "True")], Scope::Strict),
            (vec![(CLUSTER_WIDE_ANNOTATION, "yes")], Scope::Strict),
            (vec![(NAMESPACE_WIDE_ANNOTATION, "1")], Scope::Strict),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                Scope::from_annotations(&annotations(&pairs)),
                expected,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn write_annotations_replaces_both() {
        let mut a = annotations(&[(NAMESPACE_WIDE_ANNOTATION, "true"), ("team", "x")]);
        Scope::ClusterWide.write_annotations(&mut a);
        assert_eq!(
            a,
            annotations(&[(CLUSTER_WIDE_ANNOTATION, "true"), ("team", "x")])
        );
        Scope::Strict.write_annotations(&mut a);
        assert_eq!(a, annotations(&[("team", "x")]));
    }

    #[test]
    fn parses_cli_names() {
        for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert_eq!(
            "global".parse::<Scope>().unwrap_err().to_string(),
            "must be one of: strict, namespace-wide, cluster-wide"
        );
    }
}
