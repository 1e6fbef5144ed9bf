//! Lines from people and programs, as bytes, never longer than a cap.
//!
//! Console input and control requests arrive as lines from clients that
//! may send anything: bytes that are not UTF-8 (passed through: the
//! console is a byte stream) and lines without end. [`read_line`] never
//! holds more than its cap: the rest of an over-long line is read and
//! dropped, and the caller is told the line was cut.

use std::io::{BufRead, ErrorKind};

/// One line read by [`read_line`].
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    /// The line's bytes, without its newline, at most the cap.
    pub bytes: Vec<u8>,
    /// Whether the line was longer than the cap (the rest was dropped).
    pub cut: bool,
}

/// Reads the next line of `reader`, keeping at most `max` bytes of it;
/// `None` at the end of the input. A last line without a newline counts.
pub fn read_line<R: BufRead>(reader: &mut R, max: usize) -> std::io::Result<Option<Line>> {
    let mut bytes = Vec::new();
    let mut cut = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(Line { bytes, cut }));
        }
        any = true;
        let (chunk, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], at + 1),
            None => (available, available.len()),
        };
        let room = max.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        cut |= chunk.len() > room;
        let done = ends > chunk.len();
        reader.consume(ends);
        if done {
            return Ok(Some(Line { bytes, cut }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Line> {
        // A tiny buffer, so lines span many fills.
        let mut reader = std::io::BufReader::with_capacity(3, input);
        std::iter::from_fn(|| read_line(&mut reader, max).unwrap()).collect()
    }

    #[test]
    fn lines_are_bytes_and_long_ones_are_cut() {
        let got = lines(b"get x\n\xff\xfe\nabcdefghij\nlast", 4);
        let want = [
            Line { bytes: b"get ".to_vec(), cut: true },
            Line { bytes: b"\xff\xfe".to_vec(), cut: false },
            Line { bytes: b"abcd".to_vec(), cut: true },
            Line { bytes: b"last".to_vec(), cut: false },
        ];
        assert_eq!(got, want);
        assert_eq!(lines(b"", 4), []);
        assert_eq!(lines(b"\n", 4), [Line { bytes: vec![], cut: false }]);
    }
}
