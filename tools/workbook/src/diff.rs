//! A unified diff of two short texts (a hole's region: tens of lines), as one hunk that
//! shows the whole region: the longest common subsequence of lines, the rest `-` and `+`.

/// The diff from `old` to `new`, both starting at line `first` (1-based) of `file`.
pub fn unified(
    file: &str,
    first: usize,
    old: &str,
    new: &str,
    labels: (&str, &str),
) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = format!(
        "--- {file} ({})\n+++ {file} ({})\n@@ -{first},{} +{first},{} @@\n",
        labels.0,
        labels.1,
        a.len(),
        b.len()
    );
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!(" {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        }
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
}
