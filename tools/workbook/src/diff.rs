//! A unified diff of two short texts (a hole's region: tens of lines), as one hunk that
//! shows the whole region. The `similar` crate finds the changes (Myers' algorithm, the one
//! git uses); this file only prints them as `solution` shows them: every line of the region,
//! unchanged ones with a space, yours with `-`, the reference's with `+`.

use similar::{ChangeTag, TextDiff};

/// The diff from `old` to `new`, both starting at line `first` (1-based) of `file`.
pub fn unified(
    file: &str,
    first: usize,
    old: &str,
    new: &str,
    labels: (&str, &str),
) -> String {
    // Compared line by line without their line ends, as `str::lines` splits them: a last
    // line with no newline still equals the same line with one.
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = format!(
        "--- {file} ({})\n+++ {file} ({})\n@@ -{first},{} +{first},{} @@\n",
        labels.0,
        labels.1,
        a.len(),
        b.len()
    );
    for change in TextDiff::from_slices(&a, &b).iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Equal => ' ',
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
        };
        out.push(sign);
        out.push_str(change.value());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_hunk_with_the_changes() {
        let d =
            super::unified("f.rs", 10, "a\nx\nc\n", "a\nb\nc\n", ("yours", "reference"));
        assert_eq!(
            d,
            "--- f.rs (yours)\n+++ f.rs (reference)\n@@ -10,3 +10,3 @@\n a\n-x\n+b\n c\n"
        );
    }

    #[test]
    fn a_missing_last_newline_is_no_change() {
        let d = super::unified("f.rs", 1, "a\nb", "a\nb\n", ("yours", "reference"));
        assert_eq!(
            d,
            "--- f.rs (yours)\n+++ f.rs (reference)\n@@ -1,2 +1,2 @@\n a\n b\n"
        );
    }
}
