//! Offline checking of a template: what `kubeseal lint` reports without any value to render.

use crate::funcs::{self, Imp};
use crate::parse::{Arg, List, Node, Pipe, parse};
use crate::{ErrKind, Limits, TemplateError};

/// Parses `source` as the controller would and reports the first problem rendering would hit
/// whatever the values: a syntax error, an undefined function, or a Sprig function this engine
/// does not implement (which parses, and fails every time it runs).
///
/// # Errors
/// [`TemplateError::Parse`], [`TemplateError::UnknownFunction`], [`TemplateError::Unsupported`]
/// or [`TemplateError::Limit`] (nesting deeper than [`Limits::default`] allows).
pub fn check(source: &str) -> Result<(), TemplateError> {
    let parsed = parse(source, &Limits::default())?;
    let lists = std::iter::once(&parsed.root).chain(parsed.defs.values());
    let mut first: Option<(usize, String)> = None;
    for list in lists {
        walk_list(list, &mut first);
    }
    match first {
        Some((pos, name)) => Err(TemplateError::at(
            source,
            pos,
            ErrKind::FuncNotSupported(name),
            true,
        )),
        None => Ok(()),
    }
}

/// Records the unsupported call that comes first in the source. The parser bounds nesting, so
/// the recursion here is bounded too.
fn walk_list(list: &List, first: &mut Option<(usize, String)>) {
    for node in list {
        match node {
            Node::Text(_) | Node::Break | Node::Continue => {}
            Node::Action(pipe) => walk_pipe(pipe, first),
            Node::If(control) | Node::With(control) | Node::Range(control) => {
                walk_pipe(&control.pipe, first);
                walk_list(&control.list, first);
                if let Some(else_list) = &control.else_list {
                    walk_list(else_list, first);
                }
            }
            Node::Template { pipe, .. } => {
                if let Some(pipe) = pipe {
                    walk_pipe(pipe, first);
                }
            }
        }
    }
}

fn walk_pipe(pipe: &Pipe, first: &mut Option<(usize, String)>) {
    for cmd in &pipe.cmds {
        for arg in &cmd.args {
            walk_arg(arg, first);
        }
    }
}

fn walk_arg(arg: &Arg, first: &mut Option<(usize, String)>) {
    match arg {
        Arg::Ident { pos, name } => {
            let unsupported =
                funcs::lookup(name).is_some_and(|f| matches!(f.imp, Imp::Unsupported));
            if unsupported && first.as_ref().is_none_or(|(at, _)| pos < at) {
                *first = Some((*pos, name.clone()));
            }
        }
        Arg::Pipe(pipe) => walk_pipe(pipe, first),
        Arg::Chain { node, .. } => walk_arg(node, first),
        _ => {}
    }
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
        assert_eq!(
            check("{{ nosuchfunc .a }}"),
            Err(TemplateError::UnknownFunction {
                name: "nosuchfunc".into()
            })
        );
    }

    #[test]
    fn unsupported_functions_are_reported_wherever_they_hide() {
        let unsupported = funcs::all()
            .find(|f| matches!(f.imp, Imp::Unsupported))
            .expect("the table has unsupported functions")
            .name;
        for source in [
            format!("{{{{ {unsupported} }}}}"),
            format!("{{{{ if .a }}}}{{{{ else }}}}{{{{ ({unsupported}) }}}}{{{{ end }}}}"),
            format!("{{{{ define \"t\" }}}}{{{{ .a | {unsupported} }}}}{{{{ end }}}}"),
        ] {
            assert_eq!(
                check(&source),
                Err(TemplateError::Unsupported {
                    name: unsupported.into()
                }),
                "{source}"
            );
        }
    }
}
