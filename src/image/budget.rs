//! The limit on what one import may write: the defence against a tar bomb.
//!
//! A small archive may unpack to a huge tree (a gzip of zeros, or a million empty files):
//! what is written is counted against a [`Budget`] before it is written, and one budget is
//! shared by all the layers of an image.

use crate::{Error, Result};

/// How much an import may still write: the bytes of regular files, plus one 512-byte tar
/// block for every entry (an empty file still costs a header, an inode and a directory
/// entry: a million of them is a bomb too). Checked against the header *before* writing, so
/// a header claiming a terabyte is refused with nothing written.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: u64,
    used: u64,
    /// What the budget is for, in the refusal ("the image archive X").
    what: Option<String>,
}

/// The default limit on what one import unpacks: far above real images (a large CUDA image
/// is 10 GiB unpacked), far below "fill the disk".
pub const DEFAULT_MAX_UNPACKED: u64 = 16 << 30;

impl Budget {
    pub fn new(limit: u64) -> Self {
        Budget {
            limit,
            used: 0,
            what: None,
        }
    }

    /// Names what is unpacked, for the refusal: "the image archive X".
    pub fn named(mut self, what: impl Into<String>) -> Self {
        self.what = Some(what.into());
        self
    }

    /// The limit from `$WORKBOOK_MAX_UNPACKED` (bytes, or with K/M/G/T), else the default.
    pub fn limit_from_env() -> Result<u64> {
        match std::env::var("WORKBOOK_MAX_UNPACKED") {
            Ok(text) if !text.is_empty() => parse_size(&text).ok_or_else(|| {
                Error::Invalid(format!(
                    "WORKBOOK_MAX_UNPACKED={text:?} is not a size; give bytes or a number \
                     with K, M, G or T, such as 16G"
                ))
            }),
            _ => Ok(DEFAULT_MAX_UNPACKED),
        }
    }

    /// Counts `bytes` of the layer `layer`; refuses once the total passes the limit.
    pub fn charge(&mut self, bytes: u64, layer: &str) -> Result<()> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.limit {
            return Err(self.exceeded(layer));
        }
        Ok(())
    }

    /// The one-sentence refusal (naming the budget's archive, else the layer).
    pub fn exceeded(&self, layer: &str) -> Error {
        let what = (self.what.clone()).unwrap_or_else(|| format!("the layer {layer}"));
        Error::Invalid(format!(
            "{what} unpacks to more than {}, the limit on unpacked size; refusing it as a \
             possible tar bomb (set WORKBOOK_MAX_UNPACKED to allow more)",
            human(self.limit)
        ))
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'K' | 'k') => (&text[..i], 10),
        (i, 'M' | 'm') => (&text[..i], 20),
        (i, 'G' | 'g') => (&text[..i], 30),
        (i, 'T' | 't') => (&text[..i], 40),
        _ => (text, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// A size as people write it: 1 MiB, 16 GiB, or bytes when it is not a whole unit.
fn human(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print_as_people_write_them() {
        assert_eq!(parse_size("16G"), Some(16 << 30));
        assert_eq!(parse_size("1m"), Some(1 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999T"), None);
        assert_eq!(human(DEFAULT_MAX_UNPACKED), "16 GiB");
        assert_eq!(human(1 << 20), "1 MiB");
        assert_eq!(human(1000), "1000 bytes");
    }

    #[test]
    fn the_budget_refuses_past_its_limit_in_one_sentence() {
        let mut budget = Budget::new(1024).named("the image archive x.tar");
        assert!(budget.charge(1024, "l").is_ok());
        let err = budget.charge(1, "l").unwrap_err().to_string();
        assert_eq!(
            err,
            "the image archive x.tar unpacks to more than 1 KiB, the limit on unpacked size; \
             refusing it as a possible tar bomb (set WORKBOOK_MAX_UNPACKED to allow more)"
        );
    }
}
