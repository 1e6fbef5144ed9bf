//! Parsing sizes like `256MiB`, `1GiB`, `4G` or `65536`, and numbers with units.

/// Splits `text` into its leading decimal number and the unit after it
/// (both trimmed); `None` without a number.
pub fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    Some((number.parse().ok()?, unit.trim()))
}

/// Parses a byte size with an optional binary suffix (K, M, G, T, with or
/// without `iB`/`B`); decimal suffixes are read as binary, as `dd` does not
/// but users expect for image sizes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (value, suffix) = number_and_unit(text)
        .ok_or_else(|| format!("'{text}' is not a size: expected e.g. 256MiB, 1GiB or 65536"))?;
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => return Err(format!("unknown size suffix '{other}' in '{text}': use K, M, G or T (binary)")),
    };
    value.checked_mul(1 << shift).ok_or_else(|| format!("size '{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("8k"), Ok(8192));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
