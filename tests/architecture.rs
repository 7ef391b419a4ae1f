//! The workspace's shape, checked on its source: dependencies point down only (`DESIGN.md`,
//! "Workspace layout"). No files import one another (directly or through others), the host
//! never imports the front-ends built on top of it, and the example plugin is no library's
//! dependency.
//!
//! A file imports another when it names an item of the other's module: a `crate::`, `super::`
//! or `self::` path, or a path through one of its own child modules. Re-exports (`pub use`) do
//! not count (a facade names what its children define), nor do unit tests (`mod tests` below
//! `#[cfg(test)]`), which live inside the module they test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace's members, as the root manifest lists them.
fn members() -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|line| line.starts_with("members"))
        .expect("the workspace lists its members on one line");
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// A crate's modules: module path (`["host", "process"]`) to file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut modules = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(src).unwrap().with_extension("");
                let mut module: Vec<String> = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    module.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    module.pop();
                }
                modules.insert(module, path);
            }
        }
    }
    modules
}

/// A file's code as far as imports go (no comments, no unit tests), and the statements of its
/// re-exports (`pub use`), each from the path after `use`.
fn code(text: &str) -> (String, Vec<String>) {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut code = String::new();
    let mut reexports = Vec::new();
    let mut reexport: Option<String> = None;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        let trimmed = line.trim_start();
        for prefix in ["pub use ", "pub(crate) use ", "pub(super) use "] {
            if let Some(rest) = trimmed.strip_prefix(prefix) {
                reexport = Some(String::new());
                if let Some(statement) = &mut reexport {
                    statement.push_str(rest);
                }
            }
        }
        match &mut reexport {
            Some(statement) => {
                if !trimmed.starts_with("pub") {
                    statement.push_str(trimmed);
                }
                if line.contains(';') {
                    reexports.push(reexport.take().unwrap());
                }
            }
            None => {
                code.push_str(line);
                code.push('\n');
            }
        }
    }
    (code, reexports)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text.find(|c| !is_ident(c)).unwrap_or(text.len());
    &text[..end]
}

/// Every path `code` names that starts with `head::` (at a word boundary), as segments after
/// the head; a `{...}` group gives one path per item.
fn paths_from(code: &str, head: &str) -> Vec<Vec<String>> {
    let needle = format!("{head}::");
    let mut paths = Vec::new();
    for (at, _) in code.match_indices(&needle) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        let mut rest = &code[at + needle.len()..];
        let mut path = Vec::new();
        loop {
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let first = ident(item.trim());
                    if !first.is_empty() && first != "self" {
                        let mut item_path = path.clone();
                        item_path.push(first.to_string());
                        paths.push(item_path);
                    }
                }
                break;
            }
            let segment = ident(rest);
            if segment.is_empty() {
                break;
            }
            path.push(segment.to_string());
            rest = &rest[segment.len()..];
            match rest.strip_prefix("::") {
                Some(next) => rest = next,
                None => break,
            }
        }
        if !path.is_empty() {
            paths.push(path);
        }
    }
    paths
}

/// The module path `path` names, from inside `module` (`super::`, `self::`, `crate::`, or one
/// of its child modules); `None` for another crate's.
fn absolute(
    module: &[String],
    path: &[String],
    modules: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let (head, rest) = path.split_first()?;
    let parent = &module[..module.len().saturating_sub(1)];
    match head.as_str() {
        "crate" => Some(rest.to_vec()),
        "super" => Some([parent, rest].concat()),
        "self" => Some([module, rest].concat()),
        child => {
            let child_path = [module, &[child.to_string()][..]].concat();
            modules
                .contains_key(&child_path)
                .then(|| [module, path].concat())
        }
    }
}

/// The files each file of the crate at `src` imports. A path through a re-export leads to the
/// file that defines the item, not to the facade.
fn imports(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let modules = modules(src);
    let mut codes = BTreeMap::new();
    // By module: each name it re-exports, and the absolute path it re-exports.
    let mut reexported: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let (code, statements) = code(&std::fs::read_to_string(file).unwrap());
        for statement in statements {
            let head = ident(&statement).to_string();
            let rest = format!("x{}", &statement[head.len()..]);
            for path in paths_from(&rest, "x") {
                let full = [&[head.clone()][..], &path[..]].concat();
                if let Some(target) = absolute(module, &full, &modules) {
                    let name = target.last().cloned().unwrap_or_default();
                    reexported
                        .entry(module.clone())
                        .or_default()
                        .insert(name, target);
                }
            }
        }
        codes.insert(module.clone(), code);
    }
    let resolve = |path: &[String]| {
        let mut path = path.to_vec();
        // Re-exports of re-exports, a few deep at most.
        for _ in 0..8 {
            let len = (0..=path.len())
                .rev()
                .find(|len| modules.contains_key(&path[..*len]))?;
            let next = path.get(len).and_then(|name| {
                reexported
                    .get(&path[..len])
                    .and_then(|names| names.get(name))
            });
            match next {
                Some(target) if *target != path[..=len] => {
                    path = [&target[..], &path[len + 1..]].concat();
                }
                _ => return modules.get(&path[..len]).cloned(),
            }
        }
        None
    };
    let mut imports = BTreeMap::new();
    for (module, file) in &modules {
        let code = &codes[module];
        let mut named: Vec<Vec<String>> = Vec::new();
        for head in ["crate", "super", "self"] {
            for path in paths_from(code, head) {
                let path = [&[head.to_string()][..], &path[..]].concat();
                named.extend(absolute(module, &path, &modules));
            }
        }
        for child in modules.keys() {
            if child.len() == module.len() + 1 && child.starts_with(module) {
                let name = child.last().unwrap();
                for path in paths_from(code, name) {
                    named.push([&child[..], &path[..]].concat());
                }
            }
        }
        let targets: BTreeSet<PathBuf> = named
            .iter()
            .filter_map(|path| resolve(path))
            .filter(|target| target != file)
            .collect();
        imports.insert(file.clone(), targets);
    }
    imports
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The files `from` reaches through its imports, itself included.
fn reach(imports: &BTreeMap<PathBuf, BTreeSet<PathBuf>>, from: &Path) -> BTreeSet<PathBuf> {
    let mut reached = BTreeSet::from([from.to_path_buf()]);
    let mut next = vec![from.to_path_buf()];
    while let Some(file) = next.pop() {
        for target in &imports[&file] {
            if reached.insert(target.clone()) {
                next.push(target.clone());
            }
        }
    }
    reached
}

/// Each import cycle of the workspace: the files that reach one another through imports, as
/// paths from the root, sorted.
fn cycles() -> BTreeSet<Vec<String>> {
    let mut cycles = BTreeSet::new();
    for member in members() {
        let imports = imports(&root().join(&member).join("src"));
        let reached: BTreeMap<&PathBuf, BTreeSet<PathBuf>> = imports
            .keys()
            .map(|file| (file, reach(&imports, file)))
            .collect();
        for (file, reaches) in &reached {
            let cycle: Vec<String> = reaches
                .iter()
                .filter(|other| reached[other].contains(*file))
                .map(|other| relative(other))
                .collect();
            if cycle.len() > 1 {
                cycles.insert(cycle);
            }
        }
    }
    cycles
}

#[test]
fn no_files_import_each_other_even_through_others() {
    let cycles = cycles();
    assert!(
        cycles.is_empty(),
        "these files import one another: {cycles:#?}\n(move what they share into a module below \
         them)"
    );
}

#[test]
fn the_host_never_imports_the_front_ends_built_on_it() {
    let host = root().join("manager/src/host");
    for file in modules(&host).into_values() {
        let (code, _) = code(&std::fs::read_to_string(&file).unwrap());
        for front_end in ["admin", "marketplace", "frontends"] {
            assert!(
                paths_from(&code, "crate")
                    .iter()
                    .all(|path| path.first().map(String::as_str) != Some(front_end)),
                "{} names crate::{front_end}",
                relative(&file)
            );
        }
    }
}

#[test]
fn the_example_plugin_is_no_librarys_dependency() {
    for member in members() {
        let manifest = std::fs::read_to_string(root().join(&member).join("Cargo.toml")).unwrap();
        let dependencies = manifest
            .split("\n[")
            .find(|section| section.starts_with("dependencies]"))
            .unwrap_or("");
        // The tool is a binary: it packs the example as its demo.
        if member != "cli" {
            assert!(
                !dependencies.contains("logi-example-media"),
                "{member} depends on the example plugin"
            );
        }
    }
}
