//! Assembly errors: what went wrong, where (file, line, column), and through
//! which macro invocations.

use std::fmt;

/// Where a source line came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// File name.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// Macro invocations this line was expanded from, innermost first:
    /// (macro name, invocation site).
    pub expansions: Vec<(String, String, usize)>,
}

impl Origin {
    /// An origin in a file.
    pub fn new(file: &str, line: usize) -> Origin {
        Origin { file: file.to_string(), line, expansions: Vec::new() }
    }
}

/// An error with its place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct AsmError {
    /// Where.
    pub origin: Origin,
    /// 1-based column of the offending token.
    pub column: usize,
    /// What is wrong, and the fix when it is obvious.
    pub message: String,
}

impl AsmError {
    /// An error at `origin`, column `column`.
    pub fn at(origin: &Origin, column: usize, message: impl Into<String>) -> AsmError {
        AsmError { origin: origin.clone(), column, message: message.into() }
    }
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.origin.file, self.origin.line, self.column, self.message)?;
        for (name, file, line) in &self.origin.expansions {
            write!(f, " (in macro '{name}' invoked at {file}:{line})")?;
        }
        Ok(())
    }
}
