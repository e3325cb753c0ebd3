//! The house's size limits: no source file over 600 lines and no function over 80, outside
//! tests (`#[cfg(test)]` items, and the files only they declare). The Rust is read by a small
//! lexer that knows comments, strings, raw strings and character literals, so that a brace
//! inside one of them is not counted.

use super::root;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// A string literal's contents, as written (escapes not decoded).
    Str(String),
    Punct(char),
}

#[derive(Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

/// The tokens of Rust source that matter here: identifiers, string literals and punctuation,
/// each with its line. Comments, character literals, lifetimes' quotes and whitespace are
/// dropped; a number becomes digits and identifiers, which is harmless.
fn tokens(text: &str) -> Vec<Token> {
    let c: Vec<char> = text.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if ch == '"' {
            let (tok, next) = string(&c, i + 1, &mut line);
            out.push(Token { tok, line });
            i = next;
        } else if ch == '\'' {
            // 'x' and '\n' are characters; 'a without a closing quote is a lifetime or label.
            i += if at(i + 1) == '\\' {
                let mut j = i + 3;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                j + 1 - i
            } else if at(i + 2) == '\'' {
                3
            } else {
                1
            };
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let hashes = c[i..].iter().take_while(|&&h| h == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                let (tok, next) = raw_string(&c, i + hashes + 1, hashes, &mut line);
                out.push(Token { tok, line });
                i = next;
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                let (tok, next) = string(&c, i + 1, &mut line);
                out.push(Token { tok, line });
                i = next;
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
            }
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    out
}

/// A string whose contents start at `i`: the token, and where the source goes on.
fn string(c: &[char], mut i: usize, line: &mut usize) -> (Tok, usize) {
    let start = i;
    while i < c.len() && c[i] != '"' {
        if c[i] == '\\' {
            i += 1;
        }
        if c.get(i) == Some(&'\n') {
            *line += 1;
        }
        i += 1;
    }
    let end = i.min(c.len());
    (Tok::Str(c[start..end].iter().collect()), end + 1)
}

/// A raw string with `hashes` `#`s whose contents start at `i`.
fn raw_string(c: &[char], mut i: usize, hashes: usize, line: &mut usize) -> (Tok, usize) {
    let start = i;
    while i < c.len() {
        if c[i] == '"'
            && c[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == '#')
                .count()
                == hashes
        {
            break;
        }
        *line += usize::from(c[i] == '\n');
        i += 1;
    }
    let end = i.min(c.len());
    (Tok::Str(c[start..end].iter().collect()), end + 1 + hashes)
}

fn is(t: &Token, p: char) -> bool {
    t.tok == Tok::Punct(p)
}

fn ident(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Ident(w) => Some(w),
        _ => None,
    }
}

/// The index of the `{` that opens the item starting at `from`, or of the `;` that ends it
/// without a body, whichever comes first outside parentheses and brackets.
fn body_or_end(toks: &[Token], from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(from) {
        match t.tok {
            Tok::Punct('(' | '[') => depth += 1,
            Tok::Punct(')' | ']') => depth -= 1,
            Tok::Punct('{' | ';') if depth <= 0 => return Some(k),
            _ => {}
        }
    }
    None
}

/// The index of the `}` closing the `{` at `open`.
fn closing(toks: &[Token], open: usize) -> usize {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if is(t, '{') {
            depth += 1;
        } else if is(t, '}') {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    toks.len() - 1
}

/// The attribute `#[...]` at `k`: its tokens, and the index after it.
fn attribute(toks: &[Token], k: usize) -> Option<(&[Token], usize)> {
    if !(is(toks.get(k)?, '#') && is(toks.get(k + 1)?, '[')) {
        return None;
    }
    let mut depth = 0;
    for (j, t) in toks.iter().enumerate().skip(k + 1) {
        if is(t, '[') {
            depth += 1;
        } else if is(t, ']') {
            depth -= 1;
            if depth == 0 {
                return Some((&toks[k + 2..j], j + 1));
            }
        }
    }
    None
}

/// A function outside tests: its name, the line of its `fn` and its length in lines, from
/// that line to its closing brace.
#[derive(Debug, PartialEq, Eq)]
struct Function {
    name: String,
    line: usize,
    lines: usize,
}

/// A module declared as a file (`mod name;`): its name, its `#[path]` if any, and whether it
/// is compiled only for tests.
#[derive(Debug, PartialEq, Eq)]
struct Declared {
    name: String,
    path: Option<String>,
    test: bool,
}

/// What a file holds, as far as the limits go.
#[derive(Debug)]
struct Scanned {
    /// Its functions outside `#[cfg(test)]` items.
    functions: Vec<Function>,
    /// The modules it declares as files.
    declared: Vec<Declared>,
}

/// The functions of a file outside its `#[cfg(test)]` items, and the modules it declares.
fn scan(text: &str) -> Scanned {
    let toks = tokens(text);
    let (mut functions, mut declared) = (Vec::new(), Vec::new());
    let mut k = 0;
    while k < toks.len() {
        if let Some((item_start, test, path)) = attributes(&toks, k) {
            let Some(end) = body_or_end(&toks, item_start) else {
                break;
            };
            if is(&toks[end], ';') {
                if let Some((name, _)) = declared_module(&toks[item_start..end]) {
                    declared.push(Declared { name, path, test });
                }
                k = end + 1;
                continue;
            }
            if test {
                k = closing(&toks, end) + 1;
                continue;
            }
            k = item_start;
        }
        if ident(&toks[k]) == Some("fn")
            && let Some(name) = toks.get(k + 1).and_then(ident)
            && let Some(open) = body_or_end(&toks, k + 2)
            && is(&toks[open], '{')
        {
            let close = closing(&toks, open);
            functions.push(Function {
                name: name.to_owned(),
                line: toks[k].line,
                lines: toks[close].line - toks[k].line + 1,
            });
        } else if let Some((name, after)) = declared_module(&toks[k..])
            && toks.get(k + after).is_some_and(|t| is(t, ';'))
        {
            declared.push(Declared {
                name,
                path: None,
                test: false,
            });
            k += after;
        }
        k += 1;
    }
    Scanned {
        functions,
        declared,
    }
}

/// The outer attributes starting at `k`, if any: where the item after them starts, whether
/// one is `#[cfg(test)]`, and the value of a `#[path = "..."]`.
fn attributes(toks: &[Token], mut k: usize) -> Option<(usize, bool, Option<String>)> {
    let cfg_test = [
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
    ];
    let (mut test, mut path, mut any) = (false, None, false);
    while let Some((inner, next)) = attribute(toks, k) {
        any = true;
        let inner: Vec<&Tok> = inner.iter().map(|t| &t.tok).collect();
        test |= inner.iter().copied().eq(cfg_test.iter());
        if let [Tok::Ident(p), Tok::Punct('='), Tok::Str(value)] = inner.as_slice()
            && p == "path"
        {
            path = Some(value.clone());
        }
        k = next;
    }
    any.then_some((k, test, path))
}

/// The name in `[pub[(..)]] mod name` at the start of `toks`, and how many tokens that is.
fn declared_module(toks: &[Token]) -> Option<(String, usize)> {
    let mut k = 0;
    if ident(toks.first()?) == Some("pub") {
        k = 1;
        if toks.get(1).is_some_and(|t| is(t, '(')) {
            k = toks.iter().position(|t| is(t, ')'))? + 1;
        }
    }
    if ident(toks.get(k)?) != Some("mod") {
        return None;
    }
    let name = ident(toks.get(k + 1)?)?;
    Some((name.to_owned(), k + 2))
}

/// Where the module `d`, declared in `file`, may live.
fn module_files(file: &Path, d: &Declared) -> Vec<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new(""));
    if let Some(path) = &d.path {
        return vec![dir.join(path)];
    }
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let dir = if matches!(stem, "mod" | "lib" | "main") {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    vec![
        dir.join(format!("{}.rs", d.name)),
        dir.join(&d.name).join("mod.rs"),
    ]
}

/// What breaks the limits in the Rust files under `dirs`, one line each, and how many
/// functions outside tests were read.
fn oversized(dirs: &[&str]) -> (Vec<String>, usize) {
    let mut files = Vec::new();
    for dir in dirs {
        super::rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    let read: Vec<(String, Scanned)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let scanned = scan(&text);
            (text, scanned)
        })
        .collect();
    // Test files: declared under `#[cfg(test)]`, or declared by a test file.
    let mut tests = BTreeSet::new();
    loop {
        let before = tests.len();
        for (file, (_, scanned)) in files.iter().zip(&read) {
            let in_test = tests.contains(file);
            for d in scanned.declared.iter().filter(|d| d.test || in_test) {
                tests.extend(module_files(file, d));
            }
        }
        if tests.len() == before {
            break;
        }
    }
    let (mut found, mut count) = (Vec::new(), 0);
    for (file, (text, scanned)) in files.iter().zip(&read) {
        if tests.contains(file) {
            continue;
        }
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            found.push(format!("{rel}: {lines} lines"));
        }
        count += scanned.functions.len();
        for f in scanned.functions.iter().filter(|f| f.lines > MAX_FN_LINES) {
            found.push(format!(
                "{rel}:{}: fn {}: {} lines",
                f.line, f.name, f.lines
            ));
        }
    }
    (found, count)
}

/// No source file over 600 lines, no function over 80, outside tests: the service (`src/`)
/// and the adapters crate. Split by meaning: a file per concern, a function per named step.
#[test]
fn source_files_and_functions_stay_short() {
    let (found, functions) = oversized(&["src", "adapters"]);
    assert!(functions > 500, "functions read: {functions}");
    assert!(
        found.is_empty(),
        "over {MAX_FILE_LINES} lines a file or {MAX_FN_LINES} a function, outside tests:\n{}",
        found.join("\n")
    );
}

/// The scanner counts a function from its `fn` line to its closing brace; braces in strings,
/// raw strings, characters and comments do not count; `#[cfg(test)]` items are skipped, and
/// the files they declare are known as tests.
#[test]
fn the_size_scanner_reads_rust() {
    let source = r##"
//! A module.
fn short() {
    let a = "}}}";          // }
    let b = r#"{ " }"#;     /* } /* nested } */ */
    let c = '}';
    let d: &'static str = b"{";
}

pub(crate) fn long<'a>(x: &'a str) -> [u8; 2]
where
    u8: Copy,
{
    let e = '\'';
    let f = "\"{";
    [0; 2]
}

trait T {
    fn declared(&self);
}

#[cfg(test)]
mod tests {
    fn hidden() {}
}

#[cfg(test)]
#[path = "x_tests.rs"]
mod x;
pub mod y;
"##;
    let Scanned {
        functions,
        declared,
    } = scan(source);
    let found: Vec<(&str, usize, usize)> = functions
        .iter()
        .map(|f| (f.name.as_str(), f.line, f.lines))
        .collect();
    assert_eq!(found, [("short", 3, 6), ("long", 10, 8)]);
    assert_eq!(
        declared,
        [
            Declared {
                name: "x".into(),
                path: Some("x_tests.rs".into()),
                test: true
            },
            Declared {
                name: "y".into(),
                path: None,
                test: false
            },
        ]
    );
    let at = Path::new("src/a/b.rs");
    assert_eq!(
        module_files(at, &declared[0]),
        [PathBuf::from("src/a/x_tests.rs")]
    );
    assert_eq!(
        module_files(at, &declared[1]),
        [
            PathBuf::from("src/a/b/y.rs"),
            PathBuf::from("src/a/b/y/mod.rs")
        ]
    );
}

/// ARCHITECTURE.md stays a map a newcomer reads in one sitting: at most 300 lines.
#[test]
fn the_architecture_map_stays_within_300_lines() {
    let text = std::fs::read_to_string(super::root().join("ARCHITECTURE.md")).unwrap();
    let lines = text.lines().count();
    assert!(
        lines <= 300,
        "ARCHITECTURE.md has {lines} lines: condense it to 300"
    );
}
