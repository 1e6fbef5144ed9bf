//! Statements: labels, then a directive, an instruction or an assignment,
//! with operands split at top-level commas.

use crate::error::{AsmError, Origin};
use crate::expr::{self, Expr, Tok, Token};
use crate::isa;
use crate::source::Line;

/// What a statement does.
#[derive(Clone, Debug)]
pub enum Body {
    /// Only labels.
    Empty,
    /// `.name operands`.
    Directive(String),
    /// `mnemonic operands`.
    Instruction(String),
    /// `name = expr`.
    Assign(String),
}

/// A parsed statement.
#[derive(Clone, Debug)]
pub struct Stmt {
    /// Labels defined here (numeric local labels as `"1"`, …), with columns.
    pub labels: Vec<(String, usize)>,
    /// The statement proper.
    pub body: Body,
    /// Column of the directive or mnemonic.
    pub column: usize,
    /// Operand tokens, split at top-level commas.
    pub operands: Vec<Vec<Token>>,
    /// Where it came from.
    pub origin: Origin,
}

/// Parses one line.
pub fn parse(line: &Line) -> Result<Stmt, AsmError> {
    let tokens = expr::lex(&line.text, &line.origin, line.column)?;
    let mut pos = 0;
    let mut labels = Vec::new();
    while let (Some(t), Some(Token { kind: Tok::Punct(":"), .. })) = (tokens.get(pos), tokens.get(pos + 1)) {
        match &t.kind {
            Tok::Ident(name) => labels.push((name.clone(), t.column)),
            Tok::Num(n) if *n >= 0 => labels.push((n.to_string(), t.column)),
            _ => return Err(AsmError::at(&line.origin, t.column, "a label must be a name or a number")),
        }
        pos += 2;
    }
    let Some(first) = tokens.get(pos) else {
        return Ok(Stmt {
            labels,
            body: Body::Empty,
            column: line.column,
            operands: Vec::new(),
            origin: line.origin.clone(),
        });
    };
    let column = first.column;
    let Tok::Ident(word) = &first.kind else {
        return Err(AsmError::at(
            &line.origin,
            column,
            format!("expected an instruction or directive, found {}", expr::describe(&first.kind)),
        ));
    };
    let (body, rest) = match tokens.get(pos + 1) {
        Some(Token { kind: Tok::Punct("="), .. }) => (Body::Assign(word.clone()), &tokens[pos + 2..]),
        _ if word.starts_with('.') && isa::find(word).is_none() => {
            (Body::Directive(word.clone()), &tokens[pos + 1..])
        }
        _ => (Body::Instruction(word.to_ascii_lowercase()), &tokens[pos + 1..]),
    };
    Ok(Stmt { labels, body, column, operands: split_commas(rest), origin: line.origin.clone() })
}

fn split_commas(tokens: &[Token]) -> Vec<Vec<Token>> {
    if tokens.is_empty() {
        return Vec::new();
    }
    let mut out = vec![Vec::new()];
    let mut depth = 0;
    for t in tokens {
        match t.kind {
            Tok::Punct("(") => depth += 1,
            Tok::Punct(")") => depth -= 1,
            Tok::Punct(",") if depth == 0 => {
                out.push(Vec::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().expect("nonempty").push(t.clone());
    }
    out
}

/// An instruction operand.
#[derive(Clone, Debug)]
pub enum Operand {
    /// A register.
    Reg(u32),
    /// An expression.
    Value(Expr),
    /// `offset(register)`.
    Mem(Expr, u32),
}

/// Parses an operand.
pub fn operand(tokens: &[Token], origin: &Origin) -> Result<Operand, AsmError> {
    if let [Token { kind: Tok::Ident(name), .. }] = tokens
        && let Some(r) = isa::register(name)
    {
        return Ok(Operand::Reg(r));
    }
    let n = tokens.len();
    if n >= 3
        && let (
            Token { kind: Tok::Punct("("), .. },
            Token { kind: Tok::Ident(name), .. },
            Token { kind: Tok::Punct(")"), .. },
        ) = (&tokens[n - 3], &tokens[n - 2], &tokens[n - 1])
        && let Some(r) = isa::register(name)
    {
        let offset = if n == 3 { Expr::Num(0) } else { whole_expr(&tokens[..n - 3], origin)? };
        return Ok(Operand::Mem(offset, r));
    }
    Ok(Operand::Value(whole_expr(tokens, origin)?))
}

/// Parses tokens that must form exactly one expression.
pub fn whole_expr(tokens: &[Token], origin: &Origin) -> Result<Expr, AsmError> {
    let mut pos = 0;
    let e = expr::parse(tokens, &mut pos, origin)?;
    match tokens.get(pos) {
        None => Ok(e),
        Some(t) => Err(AsmError::at(
            origin,
            t.column,
            format!("unexpected {} after the expression", expr::describe(&t.kind)),
        )),
    }
}
