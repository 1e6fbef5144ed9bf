//! From source files to logical lines: comments removed, statements split
//! at `;`, `.include` files inlined, `.macro`s expanded, `.rept` repeated,
//! `.if`/`.ifdef`/`.ifndef` blocks kept or dropped. Each line remembers its
//! origin (file, line, column, and the macro invocations it came from).

use std::collections::HashMap;

use crate::error::{AsmError, Origin};
use crate::expr::{self, Scope, Tok};
use crate::{IncludeResolver, Source};

/// Nesting limit for includes and macro expansions.
const MAX_DEPTH: usize = 64;
/// Most lines a `.rept` may produce.
const MAX_REPEAT_LINES: usize = 1 << 20;

/// One statement to assemble.
#[derive(Clone, Debug)]
pub struct Line {
    /// The statement (no comment).
    pub text: String,
    /// Where it came from.
    pub origin: Origin,
    /// Column of `text`'s first byte in the source line (1-based).
    pub column: usize,
}

#[derive(Clone, Debug)]
struct Macro {
    params: Vec<(String, Option<String>)>,
    body: Vec<Line>,
}

struct Pre<'a> {
    resolver: &'a dyn IncludeResolver,
    macros: HashMap<String, Macro>,
    constants: HashMap<String, i64>,
    out: Vec<Line>,
    unique: usize,
}

/// Preprocesses a source into statements.
pub fn preprocess(
    src: Source,
    resolver: &dyn IncludeResolver,
    defines: &[(String, i64)],
) -> Result<Vec<Line>, AsmError> {
    let mut pre = Pre {
        resolver,
        macros: HashMap::new(),
        constants: defines.iter().cloned().collect(),
        out: Vec::new(),
        unique: 0,
    };
    for (name, value) in defines {
        pre.out.push(Line {
            text: format!(".equ {name}, {value}"),
            origin: Origin::new("<defines>", 1),
            column: 1,
        });
    }
    let lines = split(src.name, src.text)?;
    pre.process(&lines, 0)?;
    Ok(pre.out)
}

/// Removes comments and splits a file into statements.
fn split(name: &str, text: &str) -> Result<Vec<Line>, AsmError> {
    let cleaned = strip_comments(text);
    let mut lines = Vec::new();
    for (n, raw) in cleaned.lines().enumerate() {
        let origin = Origin::new(name, n + 1);
        let mut start = 0;
        let mut in_string = false;
        let bytes = raw.as_bytes();
        for i in 0..=bytes.len() {
            let c = bytes.get(i).copied();
            if c == Some(b'"') && (i == 0 || bytes[i - 1] != b'\\') {
                in_string = !in_string;
            }
            if c.is_none() || (c == Some(b';') && !in_string) {
                let piece = &raw[start..i];
                if !piece.trim().is_empty() {
                    lines.push(Line { text: piece.to_string(), origin: origin.clone(), column: start + 1 });
                }
                start = i + 1;
            }
        }
    }
    Ok(lines)
}

/// Replaces `#`, `//` and `/* */` comments (outside strings and character
/// literals) with spaces, keeping line breaks and columns.
fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let (mut string, mut block) = (false, false);
    while i < b.len() {
        if block {
            if b[i..].starts_with(b"*/") {
                out[i] = b' ';
                out[i + 1] = b' ';
                block = false;
                i += 2;
                continue;
            }
            if b[i] != b'\n' {
                out[i] = b' ';
            }
        } else if string {
            if b[i] == b'\\' {
                i += 1;
            } else if b[i] == b'"' || b[i] == b'\n' {
                string = false;
            }
        } else if b[i] == b'"' {
            string = true;
        } else if b[i] == b'\'' && i + 2 < b.len() {
            i += if b[i + 1] == b'\\' { 3 } else { 2 };
        } else if b[i] == b'#' || b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
            continue;
        } else if b[i..].starts_with(b"/*") {
            block = true;
            out[i] = b' ';
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The first word of a statement after any labels, and where it starts.
fn head(text: &str) -> (usize, &str) {
    let mut rest = text;
    let mut offset = 0;
    loop {
        let trimmed = rest.trim_start();
        offset += rest.len() - trimmed.len();
        let word_len =
            trimmed.bytes().take_while(|b| b.is_ascii_alphanumeric() || b"_.$\\@".contains(b)).count();
        let after = &trimmed[word_len..];
        if word_len > 0 && after.trim_start().starts_with(':') && !after.trim_start().starts_with(":=") {
            let colon = after.find(':').expect("colon");
            offset += word_len + colon + 1;
            rest = &trimmed[word_len + colon + 1..];
            continue;
        }
        return (offset, &trimmed[..word_len]);
    }
}

impl Scope for HashMap<String, i64> {
    fn symbol(&self, name: &str) -> Option<i64> {
        self.get(name).copied()
    }
    fn dot(&self) -> i64 {
        0
    }
    fn pcrel_target(&self, _: i64) -> Option<i64> {
        None
    }
}

impl Pre<'_> {
    fn process(&mut self, lines: &[Line], depth: usize) -> Result<(), AsmError> {
        if depth > MAX_DEPTH {
            let l = &lines[0];
            return Err(AsmError::at(
                &l.origin,
                l.column,
                "includes or macros nest too deeply (a recursive macro?)",
            ));
        }
        let mut i = 0;
        while i < lines.len() {
            let line = &lines[i];
            let (offset, word) = head(&line.text);
            i += 1;
            match word {
                ".include" => self.include(line, offset, depth)?,
                ".macro" => i = self.define_macro(lines, i - 1)?,
                ".rept" => i = self.repeat(lines, i - 1, depth)?,
                ".if" | ".ifdef" | ".ifndef" => i = self.conditional(lines, i - 1, depth)?,
                ".else" | ".endif" | ".endm" | ".endr" => {
                    return Err(AsmError::at(
                        &line.origin,
                        line.column + offset,
                        format!("'{word}' without its opening directive"),
                    ));
                }
                ".err" | ".error" => {
                    let msg = line.text[offset + word.len()..].trim().trim_matches('"');
                    return Err(AsmError::at(&line.origin, line.column + offset, format!(".error: {msg}")));
                }
                w if self.macros.contains_key(w) => self.expand(line, offset, w, depth)?,
                _ => {
                    self.note_constant(line);
                    self.out.push(line.clone());
                }
            }
        }
        Ok(())
    }

    fn include(&mut self, line: &Line, offset: usize, depth: usize) -> Result<(), AsmError> {
        let arg = line.text[offset + ".include".len()..].trim();
        let path = arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')).ok_or_else(|| {
            AsmError::at(&line.origin, line.column + offset, ".include takes a file name in quotes")
        })?;
        let (name, text) = self.resolver.resolve(&line.origin.file, path).map_err(|e| {
            AsmError::at(&line.origin, line.column + offset, format!("cannot include \"{path}\": {e}"))
        })?;
        let lines = split(&name, &text)?;
        self.process(&lines, depth + 1)
    }

    /// Finds the line closing the block opened at `start` (nesting-aware).
    fn block_end(lines: &[Line], start: usize, open: &[&str], close: &str) -> Result<usize, AsmError> {
        let mut nest = 0;
        for (j, l) in lines.iter().enumerate().skip(start + 1) {
            let (_, w) = head(&l.text);
            if open.contains(&w) {
                nest += 1;
            } else if w == close {
                if nest == 0 {
                    return Ok(j);
                }
                nest -= 1;
            }
        }
        let l = &lines[start];
        Err(AsmError::at(&l.origin, l.column, format!("no '{close}' closes this block")))
    }

    fn define_macro(&mut self, lines: &[Line], start: usize) -> Result<usize, AsmError> {
        let end = Self::block_end(lines, start, &[".macro"], ".endm")?;
        let l = &lines[start];
        let (offset, _) = head(&l.text);
        let spec = l.text[offset + ".macro".len()..].trim();
        let mut words = spec.splitn(2, [' ', '\t', ',']);
        let name = words.next().unwrap_or_default().to_string();
        if name.is_empty() {
            return Err(AsmError::at(&l.origin, l.column + offset, ".macro needs a name"));
        }
        let params = words
            .next()
            .unwrap_or_default()
            .split([',', ' ', '\t'])
            .filter(|p| !p.trim().is_empty())
            .map(|p| match p.split_once('=') {
                Some((n, d)) => (n.trim().to_string(), Some(d.trim().to_string())),
                None => (p.trim().to_string(), None),
            })
            .collect();
        self.macros.insert(name, Macro { params, body: lines[start + 1..end].to_vec() });
        Ok(end + 1)
    }

    fn expand(&mut self, line: &Line, offset: usize, name: &str, depth: usize) -> Result<(), AsmError> {
        if offset > 0 && !line.text[..offset].trim().is_empty() {
            self.out.push(Line {
                text: line.text[..offset].to_string(),
                origin: line.origin.clone(),
                column: line.column,
            });
        }
        let m = self.macros[name].clone();
        let args = split_args(line.text[offset + name.len()..].trim());
        if args.len() > m.params.len() {
            return Err(AsmError::at(
                &line.origin,
                line.column + offset,
                format!("macro '{name}' takes {} arguments, {} given", m.params.len(), args.len()),
            ));
        }
        let mut values = Vec::new();
        for (i, (param, default)) in m.params.iter().enumerate() {
            match args.get(i).filter(|a| !a.is_empty()).cloned().or_else(|| default.clone()) {
                Some(v) => values.push((param.clone(), v)),
                None => {
                    return Err(AsmError::at(
                        &line.origin,
                        line.column + offset,
                        format!("macro '{name}': argument '{param}' is missing"),
                    ));
                }
            }
        }
        self.unique += 1;
        let invoked = (name.to_string(), line.origin.file.clone(), line.origin.line);
        let body: Vec<Line> = m
            .body
            .iter()
            .map(|b| {
                let mut origin = b.origin.clone();
                origin.expansions.push(invoked.clone());
                origin.expansions.extend(line.origin.expansions.iter().cloned());
                Line { text: substitute(&b.text, &values, self.unique), origin, column: b.column }
            })
            .collect();
        self.process(&body, depth + 1)
    }

    fn repeat(&mut self, lines: &[Line], start: usize, depth: usize) -> Result<usize, AsmError> {
        let end = Self::block_end(lines, start, &[".rept"], ".endr")?;
        let l = &lines[start];
        let (offset, _) = head(&l.text);
        let count = self.constant(l, offset + ".rept".len())?;
        let body = &lines[start + 1..end];
        if count < 0 || (count as usize).saturating_mul(body.len()) > MAX_REPEAT_LINES {
            return Err(AsmError::at(
                &l.origin,
                l.column + offset,
                format!(".rept count {count} is out of range"),
            ));
        }
        for _ in 0..count {
            self.process(body, depth + 1)?;
        }
        Ok(end + 1)
    }

    fn conditional(&mut self, lines: &[Line], start: usize, depth: usize) -> Result<usize, AsmError> {
        let end = Self::block_end(lines, start, &[".if", ".ifdef", ".ifndef"], ".endif")?;
        let l = &lines[start];
        let (offset, word) = head(&l.text);
        let arg = l.text[offset + word.len()..].trim();
        let taken = match word {
            ".ifdef" => self.constants.contains_key(arg),
            ".ifndef" => !self.constants.contains_key(arg),
            _ => self.constant(l, offset + word.len())? != 0,
        };
        let mut nest = 0;
        let mut split_at = end;
        for (j, b) in lines.iter().enumerate().take(end).skip(start + 1) {
            match head(&b.text).1 {
                ".if" | ".ifdef" | ".ifndef" => nest += 1,
                ".endif" => nest -= 1,
                ".else" if nest == 0 => {
                    split_at = j;
                    break;
                }
                _ => {}
            }
        }
        let chosen = if taken { &lines[start + 1..split_at] } else { &lines[(split_at + 1).min(end)..end] };
        self.process(chosen, depth + 1)?;
        Ok(end + 1)
    }

    fn constant(&self, l: &Line, at: usize) -> Result<i64, AsmError> {
        let tokens = expr::lex(&l.text[at..], &l.origin, l.column + at)?;
        let mut pos = 0;
        let e = expr::parse(&tokens, &mut pos, &l.origin)?;
        expr::eval(&e, &self.constants, &l.origin)?.ok_or_else(|| {
            AsmError::at(
                &l.origin,
                l.column + at,
                "the value must be known here (use constants defined earlier with .equ)",
            )
        })
    }

    /// Records `.equ`/`.set`/`=` constants whose value is known now, for `.if` and `.rept`.
    fn note_constant(&mut self, l: &Line) {
        let Ok(tokens) = expr::lex(&l.text, &l.origin, l.column) else { return };
        let (name, start) = match tokens.as_slice() {
            [
                Token { kind: Tok::Ident(d), .. },
                Token { kind: Tok::Ident(n), .. },
                Token { kind: Tok::Punct(","), .. },
                ..,
            ] if d == ".equ" || d == ".set" => (n.clone(), 3),
            [Token { kind: Tok::Ident(n), .. }, Token { kind: Tok::Punct("="), .. }, ..] => (n.clone(), 2),
            _ => return,
        };
        let mut pos = start;
        if let Ok(e) = expr::parse(&tokens, &mut pos, &l.origin)
            && let Ok(Some(v)) = expr::eval(&e, &self.constants, &l.origin)
        {
            self.constants.insert(name, v);
        }
    }
}

use crate::expr::Token;

/// Splits macro arguments at top-level commas (or at white space if there
/// are no commas).
fn split_args(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut args = Vec::new();
    let (mut depth, mut string, mut start) = (0i32, false, 0);
    let has_comma = {
        let mut d = 0i32;
        let mut s = false;
        text.bytes().any(|c| {
            match c {
                b'"' => s = !s,
                b'(' if !s => d += 1,
                b')' if !s => d -= 1,
                _ => {}
            }
            c == b',' && d == 0 && !s
        })
    };
    let sep = |c: u8| if has_comma { c == b',' } else { c == b' ' || c == b'\t' };
    for (i, c) in text.bytes().enumerate() {
        match c {
            b'"' => string = !string,
            b'(' if !string => depth += 1,
            b')' if !string => depth -= 1,
            c if sep(c) && depth == 0 && !string => {
                let piece = text[start..i].trim();
                if has_comma || !piece.is_empty() {
                    args.push(piece.to_string());
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = text[start..].trim();
    if has_comma || !last.is_empty() {
        args.push(last.to_string());
    }
    args
}

/// Replaces `\param`, `\@` and `\()` in a macro body line.
fn substitute(text: &str, values: &[(String, String)], unique: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('@') {
            out.push_str(&unique.to_string());
            rest = r;
        } else if let Some(r) = after.strip_prefix("()") {
            rest = r;
        } else {
            let len = after.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            match values.iter().find(|(p, _)| p == &after[..len]) {
                Some((_, v)) => {
                    out.push_str(v);
                    rest = &after[len..];
                }
                None => {
                    out.push('\\');
                    rest = after;
                }
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoIncludes;

    fn texts(src: &str) -> Vec<String> {
        preprocess(Source { name: "t.s", text: src }, &NoIncludes, &[])
            .unwrap()
            .into_iter()
            .map(|l| l.text.trim().to_string())
            .collect()
    }

    #[test]
    fn comments_and_semicolons() {
        assert_eq!(
            texts("addi a0, a0, 1 # one\n li a1, '#' ; nop // two\n/* x\n y */ ret"),
            ["addi a0, a0, 1", "li a1, '#'", "nop", "ret"]
        );
    }

    #[test]
    fn macros_rept_and_conditionals() {
        let src = ".equ N, 2\n.macro twice op, reg=a0\n \\op \\reg, \\reg, 1\n \\op \\reg, \\reg, 1\n.endm\ntwice addi\ntwice addi, a1\n.rept N\nnop\n.endr\n.if N == 3\nx\n.else\ny\n.endif";
        let t = texts(src);
        assert_eq!(
            &t[1..],
            ["addi a0, a0, 1", "addi a0, a0, 1", "addi a1, a1, 1", "addi a1, a1, 1", "nop", "nop", "y"]
        );
    }

    #[test]
    fn unique_labels_in_macros() {
        let t = texts(".macro m\nl\\@: nop\n.endm\nm\nm");
        assert_ne!(t[0], t[1]);
    }
}
