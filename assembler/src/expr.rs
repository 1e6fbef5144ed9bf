//! Tokens and expressions: literals, symbols, `.`, the usual C operators,
//! and the relocation functions `%hi`, `%lo`, `%pcrel_hi`, `%pcrel_lo`.

use crate::error::{AsmError, Origin};

/// A lexical token with its 1-based column.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: Tok,
    /// Column in the source line.
    pub column: usize,
}

/// Token kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A name: symbol, mnemonic, register, directive (with its dot).
    Ident(String),
    /// An integer literal or character literal.
    Num(i64),
    /// A string literal (escapes decoded).
    Str(Vec<u8>),
    /// A reference to numeric local label n, backward or forward.
    Local(u32, bool),
    /// `%name` relocation function.
    Reloc(String),
    /// Punctuation or operator.
    Punct(&'static str),
}

const PUNCTS: [&str; 23] = [
    "<<", ">>", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^", "~", "(", ")", ",",
    ":", "=", "!",
];

/// Splits a line into tokens.
pub fn lex(text: &str, origin: &Origin, column0: usize) -> Result<Vec<Token>, AsmError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let column = column0 + i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let (kind, len) = if c.is_ascii_alphabetic() || c == b'_' || c == b'.' || c == b'$' {
            let len =
                bytes[i..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b"_.$".contains(&b)).count();
            (Tok::Ident(text[i..i + len].to_string()), len)
        } else if c.is_ascii_digit() {
            number(&text[i..], origin, column)?
        } else if c == b'"' {
            string(&text[i..], origin, column)?
        } else if c == b'\'' {
            character(&text[i..], origin, column)?
        } else if c == b'%' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic()) {
            let len =
                1 + bytes[i + 1..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_').count();
            (Tok::Reloc(text[i + 1..i + len].to_string()), len)
        } else if let Some(p) = PUNCTS.iter().find(|p| text[i..].starts_with(**p)) {
            (Tok::Punct(p), p.len())
        } else {
            return Err(AsmError::at(origin, column, format!("unexpected character '{}'", c as char)));
        };
        tokens.push(Token { kind, column });
        i += len;
    }
    Ok(tokens)
}

fn number(text: &str, origin: &Origin, column: usize) -> Result<(Tok, usize), AsmError> {
    let len = text.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    let word = &text[..len];
    let bad = || AsmError::at(origin, column, format!("'{word}' is not a number"));
    if let Some(n) =
        word.strip_suffix(['b', 'f']).filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    {
        let is_binary = word.starts_with("0b") && word.len() > 2;
        if !is_binary {
            return Ok((Tok::Local(n.parse().map_err(|_| bad())?, word.ends_with('f')), len));
        }
    }
    let clean = word.replace('_', "");
    let value = if let Some(h) = clean.strip_prefix("0x").or_else(|| clean.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)
    } else if let Some(b) = clean.strip_prefix("0b").or_else(|| clean.strip_prefix("0B")) {
        i64::from_str_radix(b, 2)
    } else if let Some(o) = clean.strip_prefix("0o") {
        i64::from_str_radix(o, 8)
    } else {
        clean.parse::<i64>()
    };
    value.map(|v| (Tok::Num(v), len)).map_err(|_| bad())
}

fn escape(c: u8) -> Option<u8> {
    Some(match c {
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'0' => 0,
        b'\\' => b'\\',
        b'\'' => b'\'',
        b'"' => b'"',
        _ => return None,
    })
}

fn string(text: &str, origin: &Origin, column: usize) -> Result<(Tok, usize), AsmError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Ok((Tok::Str(out), i + 1)),
            b'\\' => {
                let e = bytes.get(i + 1).and_then(|&c| escape(c));
                out.push(e.ok_or_else(|| AsmError::at(origin, column + i, "unknown escape in string"))?);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(AsmError::at(origin, column, "string is not closed: add the closing '\"'"))
}

fn character(text: &str, origin: &Origin, column: usize) -> Result<(Tok, usize), AsmError> {
    let bytes = text.as_bytes();
    let bad = || AsmError::at(origin, column, "bad character literal: write e.g. 'a' or '\\n'");
    let (value, len) = match bytes.get(1) {
        Some(b'\\') => (escape(*bytes.get(2).ok_or_else(bad)?).ok_or_else(bad)?, 4),
        Some(&c) => (c, 3),
        None => return Err(bad()),
    };
    if bytes.get(len - 1) != Some(&b'\'') {
        return Err(bad());
    }
    Ok((Tok::Num(i64::from(value)), len))
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number.
    Num(i64),
    /// A symbol, with its column.
    Sym(String, usize),
    /// A numeric local label reference (resolved to a symbol before evaluation).
    Local(u32, bool, usize),
    /// The current location.
    Dot,
    /// A unary operator.
    Unary(&'static str, Box<Expr>),
    /// A binary operator.
    Binary(&'static str, Box<Expr>, Box<Expr>),
    /// A relocation function applied to an expression.
    Reloc(Reloc, Box<Expr>, usize),
}

/// Relocation functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reloc {
    /// Upper 20 bits, rounded for a sign-extended low part.
    Hi,
    /// Low 12 bits, sign-extended.
    Lo,
    /// Upper 20 bits of (symbol − this instruction's address).
    PcrelHi,
    /// Low 12 bits matching the `%pcrel_hi` at the given label.
    PcrelLo,
}

/// Parses an expression from `tokens[*pos..]`.
pub fn parse(tokens: &[Token], pos: &mut usize, origin: &Origin) -> Result<Expr, AsmError> {
    binary(tokens, pos, origin, 0)
}

const LEVELS: [&[&str]; 7] = [
    &["==", "!=", "<", ">", "<=", ">="],
    &["|"],
    &["^"],
    &["&"],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

fn binary(tokens: &[Token], pos: &mut usize, origin: &Origin, level: usize) -> Result<Expr, AsmError> {
    if level == LEVELS.len() {
        return unary(tokens, pos, origin);
    }
    let mut left = binary(tokens, pos, origin, level + 1)?;
    while let Some(Token { kind: Tok::Punct(p), .. }) = tokens.get(*pos) {
        if !LEVELS[level].contains(p) {
            break;
        }
        *pos += 1;
        let right = binary(tokens, pos, origin, level + 1)?;
        left = Expr::Binary(p, Box::new(left), Box::new(right));
    }
    Ok(left)
}

fn unary(tokens: &[Token], pos: &mut usize, origin: &Origin) -> Result<Expr, AsmError> {
    let Some(t) = tokens.get(*pos) else {
        let column = tokens.last().map_or(1, |t| t.column + 1);
        return Err(AsmError::at(origin, column, "expected an expression"));
    };
    *pos += 1;
    Ok(match &t.kind {
        Tok::Num(n) => Expr::Num(*n),
        Tok::Ident(s) if s == "." => Expr::Dot,
        Tok::Ident(s) => Expr::Sym(s.clone(), t.column),
        Tok::Local(n, f) => Expr::Local(*n, *f, t.column),
        Tok::Punct(p @ ("-" | "~" | "+" | "!")) => Expr::Unary(p, Box::new(unary(tokens, pos, origin)?)),
        Tok::Punct("(") => {
            let e = parse(tokens, pos, origin)?;
            expect(tokens, pos, origin, ")")?;
            e
        }
        Tok::Reloc(name) => {
            let reloc = match name.as_str() {
                "hi" => Reloc::Hi,
                "lo" => Reloc::Lo,
                "pcrel_hi" => Reloc::PcrelHi,
                "pcrel_lo" => Reloc::PcrelLo,
                other => {
                    return Err(AsmError::at(origin, t.column, format!("unknown relocation '%{other}'")));
                }
            };
            expect(tokens, pos, origin, "(")?;
            let e = parse(tokens, pos, origin)?;
            expect(tokens, pos, origin, ")")?;
            Expr::Reloc(reloc, Box::new(e), t.column)
        }
        other => {
            return Err(AsmError::at(
                origin,
                t.column,
                format!("expected an expression, found {}", describe(other)),
            ));
        }
    })
}

/// Consumes punctuation `p` or fails.
pub fn expect(tokens: &[Token], pos: &mut usize, origin: &Origin, p: &str) -> Result<(), AsmError> {
    match tokens.get(*pos) {
        Some(Token { kind: Tok::Punct(q), .. }) if *q == p => {
            *pos += 1;
            Ok(())
        }
        Some(t) => {
            Err(AsmError::at(origin, t.column, format!("expected '{p}', found {}", describe(&t.kind))))
        }
        None => Err(AsmError::at(
            origin,
            tokens.last().map_or(1, |t| t.column + 1),
            format!("expected '{p}' at the end"),
        )),
    }
}

/// A token, in words.
pub fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Num(n) => format!("'{n}'"),
        Tok::Str(_) => "a string".into(),
        Tok::Local(n, f) => format!("'{n}{}'", if *f { 'f' } else { 'b' }),
        Tok::Reloc(r) => format!("'%{r}'"),
        Tok::Punct(p) => format!("'{p}'"),
    }
}

/// What evaluation needs from its context.
pub trait Scope {
    /// The value of a symbol, if known.
    fn symbol(&self, name: &str) -> Option<i64>;
    /// The address of the current statement.
    fn dot(&self) -> i64;
    /// For `%pcrel_lo(label)`: the target of the `%pcrel_hi` at that address.
    fn pcrel_target(&self, auipc_address: i64) -> Option<i64>;
    /// The address of numeric local label `n` before (or after) this statement.
    fn local(&self, _n: u32, _forward: bool) -> Option<i64> {
        None
    }
}

/// Evaluates; `Ok(None)` when a symbol is not (yet) known.
pub fn eval(e: &Expr, scope: &dyn Scope, origin: &Origin) -> Result<Option<i64>, AsmError> {
    Ok(Some(match e {
        Expr::Num(n) => *n,
        Expr::Dot => scope.dot(),
        Expr::Sym(name, _) => match scope.symbol(name) {
            Some(v) => v,
            None => return Ok(None),
        },
        Expr::Local(n, forward, column) => match scope.local(*n, *forward) {
            Some(v) => v,
            None => {
                let dir = if *forward { "after" } else { "before" };
                return Err(AsmError::at(origin, *column, format!("no local label '{n}:' {dir} this line")));
            }
        },
        Expr::Unary(op, a) => {
            let Some(a) = eval(a, scope, origin)? else { return Ok(None) };
            match *op {
                "-" => a.wrapping_neg(),
                "~" => !a,
                "!" => i64::from(a == 0),
                _ => a,
            }
        }
        Expr::Binary(op, a, b) => {
            let (Some(a), Some(b)) = (eval(a, scope, origin)?, eval(b, scope, origin)?) else {
                return Ok(None);
            };
            binary_op(op, a, b).ok_or_else(|| AsmError::at(origin, 1, "division by zero in an expression"))?
        }
        Expr::Reloc(kind, inner, column) => {
            let Some(v) = eval(inner, scope, origin)? else { return Ok(None) };
            match kind {
                Reloc::Hi => hi20(v),
                Reloc::Lo => lo12(v),
                Reloc::PcrelHi => hi20(v.wrapping_sub(scope.dot())),
                Reloc::PcrelLo => {
                    let target = scope.pcrel_target(v).ok_or_else(|| {
                        AsmError::at(
                            origin,
                            *column,
                            "%pcrel_lo must name the label of an auipc that uses %pcrel_hi",
                        )
                    })?;
                    lo12(target.wrapping_sub(v))
                }
            }
        }
    }))
}

fn binary_op(op: &str, a: i64, b: i64) -> Option<i64> {
    Some(match op {
        "+" => a.wrapping_add(b),
        "-" => a.wrapping_sub(b),
        "*" => a.wrapping_mul(b),
        "/" => a.checked_div(b)?,
        "%" => a.checked_rem(b)?,
        "<<" => a.wrapping_shl(b as u32),
        ">>" => a.wrapping_shr(b as u32),
        "&" => a & b,
        "|" => a | b,
        "^" => a ^ b,
        "==" => i64::from(a == b),
        "!=" => i64::from(a != b),
        "<" => i64::from(a < b),
        ">" => i64::from(a > b),
        "<=" => i64::from(a <= b),
        ">=" => i64::from(a >= b),
        _ => unreachable!("ASM001 operator {op}"),
    })
}

/// `%hi`: the upper 20 bits, rounded so that adding `%lo` gives the value.
pub fn hi20(v: i64) -> i64 {
    ((v.wrapping_add(0x800)) >> 12) & 0xFFFFF
}

/// `%lo`: the low 12 bits, sign-extended.
pub fn lo12(v: i64) -> i64 {
    ((v & 0xFFF) ^ 0x800) - 0x800
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Empty;
    impl Scope for Empty {
        fn symbol(&self, _: &str) -> Option<i64> {
            None
        }
        fn dot(&self) -> i64 {
            0x100
        }
        fn pcrel_target(&self, _: i64) -> Option<i64> {
            None
        }
    }

    fn value(text: &str) -> i64 {
        let o = Origin::new("t.s", 1);
        let tokens = lex(text, &o, 1).unwrap();
        let mut pos = 0;
        let e = parse(&tokens, &mut pos, &o).unwrap();
        assert_eq!(pos, tokens.len(), "{text}");
        eval(&e, &Empty, &o).unwrap().unwrap()
    }

    #[test]
    fn operators_have_c_precedence() {
        assert_eq!(value("1 + 2 * 3"), 7);
        assert_eq!(value("(1 + 2) * 3"), 9);
        assert_eq!(value("1 << 4 | 1"), 17);
        assert_eq!(value("-0x10 + 'a'"), 81);
        assert_eq!(value("~0 & 0xff"), 255);
        assert_eq!(value("0b101 ^ 1"), 4);
        assert_eq!(value(". + 4"), 0x104);
        assert_eq!(value("%hi(0x12345800)"), 0x12346);
        assert_eq!(value("%lo(0x12345800)"), -0x800);
    }

    #[test]
    fn local_label_references_lex_as_such() {
        let o = Origin::new("t.s", 1);
        assert_eq!(lex("1b", &o, 1).unwrap()[0].kind, Tok::Local(1, false));
        assert_eq!(lex("23f", &o, 1).unwrap()[0].kind, Tok::Local(23, true));
        assert_eq!(lex("0b11", &o, 1).unwrap()[0].kind, Tok::Num(3));
    }
}
