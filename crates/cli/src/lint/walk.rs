//! Which files to check: the paths given, and under directories every `*.yaml`, `*.yml` and
//! `*.json`, skipping hidden entries and symbolic links (no loops), in a stable order.

use std::fs;
use std::path::{Path, PathBuf};

/// Most files one run looks at, and deepest directory nesting: a walk into the wrong
/// directory stops instead of running for ever.
pub const MAX_FILES: usize = 1_000_000;
const MAX_DEPTH: usize = 64;

/// A path that could not be walked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    /// The path.
    pub path: PathBuf,
    /// Why (Go-worded I/O error).
    pub message: String,
}

/// The files to check under `paths`, in order, and the paths that could not be read.
#[must_use]
pub fn files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<WalkError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, 0, &mut files, &mut errors),
            Ok(_) => files.push(path.clone()),
            Err(e) => errors.push(WalkError {
                path: path.clone(),
                message: crate::files::describe_io(&e),
            }),
        }
        if files.len() >= MAX_FILES {
            break;
        }
    }
    files.truncate(MAX_FILES);
    if paths.len() > 1 {
        // Overlapping paths (`dir dir/a.yaml`) must not count a file twice.
        let mut seen = std::collections::HashSet::new();
        files.retain(|f| seen.insert(fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    }
    (files, errors)
}

fn is_manifest(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>, errors: &mut Vec<WalkError>) {
    if depth > MAX_DEPTH {
        errors.push(WalkError {
            path: dir.to_owned(),
            message: format!("directories nested more than {MAX_DEPTH} deep: not walked"),
        });
        return;
    }
    let entries = match fs::read_dir(dir).and_then(|d| d.collect::<Result<Vec<_>, _>>()) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(WalkError {
                path: dir.to_owned(),
                message: crate::files::describe_io(&e),
            });
            return;
        }
    };
    let mut entries: Vec<_> = entries
        .into_iter()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        if files.len() >= MAX_FILES {
            return;
        }
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            walk(&entry.path(), depth + 1, files, errors);
        } else if file_type.is_file() && is_manifest(&entry.file_name().to_string_lossy()) {
            files.push(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_manifests_in_order_and_reports_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/.hidden")).unwrap();
        for name in [
            "b/z.yaml",
            "b/a.json",
            "a.yml",
            "notes.txt",
            "b/.hidden/x.yaml",
            ".h.yaml",
        ] {
            fs::write(root.join(name), "").unwrap();
        }
        let explicit = root.join("notes.txt");
        let (files, errors) = files(&[
            root.to_owned(),
            explicit.clone(),
            root.join("missing"),
            root.join("b/z.yaml"),
        ]);
        let expected = [
            root.join("a.yml"),
            root.join("b/a.json"),
            root.join("b/z.yaml"),
            explicit,
        ];
        assert_eq!(files, expected);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "no such file or directory");
    }
}
