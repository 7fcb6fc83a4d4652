//! Placeholder until the Go text/template engine lands.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

/// A template that could not be rendered. Never contains plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template rendering is not supported yet")]
pub struct TemplateError;

/// Renders one Go text/template over the decrypted values of a SealedSecret.
pub fn render(
    _source: &str,
    _values: &BTreeMap<String, &[u8]>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    Err(TemplateError)
}
