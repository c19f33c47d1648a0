//! `templates:` globs. Each entry is a path (relative to the config file's directory) whose last
//! component may hold `*`, `?` and `[...]` classes; it resolves to the matching files, sorted.
//! No match is not an error (as in Alertmanager).
//! Imports: std.

use std::path::{Path, PathBuf};

/// Whether `name` matches a glob `pattern` (`*`, `?`, `[abc]`, `[a-z]`, `[^a]`/`[!a]`, `\x`).
/// Err on a malformed pattern.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, String> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Validate first, so a bad pattern errs whatever the name.
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(format!("bad pattern {pattern:?}: trailing backslash"));
                }
                i += 2;
            }
            '[' => {
                i = class_end(&p, i)
                    .ok_or_else(|| format!("bad pattern {pattern:?}: unclosed ["))?
                    + 1
            }
            _ => i += 1,
        }
    }
    Ok(match_from(&p, &n))
}

/// Index of the `]` closing the class that starts at `start`.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if i < p.len() && (p[i] == '^' || p[i] == '!') {
        i += 1;
    }
    let first = i;
    while i < p.len() {
        if p[i] == ']' && i > first {
            return Some(i);
        }
        if p[i] == '\\' {
            i += 1;
        }
        i += 1;
    }
    None
}

fn class_matches(class: &[char], c: char) -> bool {
    let (neg, body) = match class.first() {
        Some('^') | Some('!') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut hit = false;
    let mut i = 0;
    while i < body.len() {
        let lo = if body[i] == '\\' && i + 1 < body.len() {
            i += 1;
            body[i]
        } else {
            body[i]
        };
        if i + 2 < body.len() && body[i + 1] == '-' {
            let hi = body[i + 2];
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
    hit != neg
}

/// Iterative matcher with single-star backtracking (no exponential blow-up).
fn match_from(p: &[char], n: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' if n[ni] != '/' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some(end) = class_end(p, pi)
                        && class_matches(&p[pi + 1..end], n[ni])
                    {
                        pi = end + 1;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                c if c != '\\' && c != '?' && c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) if n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            _ => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The files one `templates:` entry names, sorted; Err on a malformed pattern or a glob outside
/// the last path component.
pub fn resolve_glob(base_dir: &Path, entry: &str) -> Result<Vec<PathBuf>, String> {
    let full = if Path::new(entry).is_absolute() {
        PathBuf::from(entry)
    } else {
        base_dir.join(entry)
    };
    let Some(file) = full.file_name().and_then(|f| f.to_str()).map(str::to_owned) else {
        return Err(format!("template path {entry:?} has no file name"));
    };
    let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    if has_meta(&dir.to_string_lossy()) {
        return Err(format!(
            "template path {entry:?}: only the last path component may be a glob"
        ));
    }
    if !has_meta(&file) {
        let _ = glob_match(&file, "")?;
        return Ok(if full.exists() {
            vec![full]
        } else {
            Vec::new()
        });
    }
    let _ = glob_match(&file, "")?;
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        if let Some(name) = e.file_name().to_str()
            && glob_match(&file, name)?
        {
            out.push(dir.join(name));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let m = |p: &str, n: &str| glob_match(p, n).unwrap();
        assert!(m("*.tmpl", "a.tmpl"));
        assert!(m("*.tmpl", ".tmpl"));
        assert!(!m("*.tmpl", "a.tmpl.bak"));
        assert!(m("a?c", "abc"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("[!a]x", "zx"));
        assert!(m("\\*", "*"));
        assert!(m("*a*b*c", "xxaxxbxxc"));
        assert!(!m("*a*b*c", "xxaxxbxx"));
        assert!(glob_match("[", "x").is_err());
        assert!(glob_match("a\\", "x").is_err());
        assert!(m(&"*a".repeat(30), &"a".repeat(40)));
        assert!(!m(&"*a".repeat(30), &"b".repeat(40)));
    }

    #[test]
    fn resolves_last_component() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b.tmpl", "a.tmpl", "c.txt"] {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        let got = resolve_glob(d.path(), "*.tmpl").unwrap();
        assert_eq!(got, vec![d.path().join("a.tmpl"), d.path().join("b.tmpl")]);
        assert!(resolve_glob(d.path(), "missing/*.tmpl").unwrap().is_empty());
        assert!(resolve_glob(d.path(), "*/x.tmpl").is_err());
        assert_eq!(
            resolve_glob(d.path(), "c.txt").unwrap(),
            vec![d.path().join("c.txt")]
        );
    }
}
