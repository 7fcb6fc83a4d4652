//! Offline checking of a template: what `kubeseal lint` reports without any value to render.

use crate::parse::parse;
use crate::{Limits, TemplateError};

/// Parses `source` as the controller would and reports the first problem rendering would hit
/// whatever the values: a syntax error or an undefined function (every function of Sprig's
/// `GenericFuncMap` that upstream's controller offers is implemented).
///
/// # Errors
/// [`TemplateError::Parse`], [`TemplateError::UnknownFunction`] or [`TemplateError::Limit`]
/// (nesting deeper than [`Limits::default`] allows).
pub fn check(source: &str) -> Result<(), TemplateError> {
    parse(source, &Limits::default()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_templates_pass() {
        for source in [
            "plain",
            "{{ .user }}:{{ .password }}",
            "{{ if .a }}{{ .a | b64enc }}{{ else }}x{{ end }}",
            "{{ define \"t\" }}{{ .x | upper }}{{ end }}{{ template \"t\" . }}",
        ] {
            assert_eq!(check(source), Ok(()), "{source}");
        }
    }

    #[test]
    fn syntax_errors_and_unknown_functions_are_reported() {
        assert!(matches!(check("{{ .a "), Err(TemplateError::Parse { .. })));
        for source in [
            "{{ nosuchfunc .a }}",
            "{{ define \"t\" }}{{ .a | nosuchfunc }}{{ end }}",
            // Upstream's controller removes these from Sprig's map.
            "{{ if .a }}{{ else }}{{ (env \"HOME\") }}{{ end }}",
        ] {
            assert!(
                matches!(check(source), Err(TemplateError::UnknownFunction { .. })),
                "{source}"
            );
        }
    }
}
