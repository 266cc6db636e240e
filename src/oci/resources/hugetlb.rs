//! `linux.resources.hugepageLimits`: the most huge-page memory of each page size. The
//! kubelet sends one, of limit 0 unless the pod asks for huge pages, for every size the
//! node has.

use super::super::config::HugepageLimit;
use super::dirs::At;
use crate::cgroup::plan::Step;
use crate::{Error, Result};

/// The huge page sizes of this machine, as the hugetlb files name them (`2MB`, `1GB`),
/// from /sys/kernel/mm/hugepages (`hugepages-2048kB`…).
pub fn page_sizes() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut kb: Vec<u64> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()
        })
        .collect();
    kb.sort_unstable();
    kb.into_iter().map(size_name).collect()
}

/// `2048` (kB) → `2MB`: the kernel's names use binary units spelt KB, MB, GB.
fn size_name(kb: u64) -> String {
    let mut value = kb;
    for unit in ["KB", "MB", "GB", "TB"] {
        if value < 1024 || value % 1024 != 0 || unit == "TB" {
            return format!("{value}{unit}");
        }
        value /= 1024;
    }
    unreachable!("the loop returns at TB")
}

/// The writes of `limits` into the hugetlb cgroup `at`, refusing a page size that is not
/// one of `sizes`. Each limit also goes to the `rsvd` file (Linux 5.7+), as runc does:
/// that one also counts pages reserved by mmap and not yet touched, so a limit there fails
/// the mmap rather than killing the task at its first touch.
pub fn steps(limits: &[HugepageLimit], at: At, sizes: &[String]) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let suffix = if at.v2 { "max" } else { "limit_in_bytes" };
    for (i, l) in limits.iter().enumerate() {
        if !sizes.contains(&l.page_size) {
            return Err(Error::Invalid(format!(
                "linux.resources.hugepageLimits[{i}] names the page size '{}', which this machine does not have (it has: {})",
                l.page_size,
                if sizes.is_empty() { "none".to_string() } else { sizes.join(", ") }
            )));
        }
        let file = |rsvd: &str| {
            at.dir
                .join(format!("hugetlb.{}{rsvd}.{suffix}", l.page_size))
        };
        steps.push(Step::write(file(""), l.limit.to_string()));
        steps.push(Step::write_if_present(file(".rsvd"), l.limit.to_string()));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_sizes_are_named_as_the_kernel_names_them() {
        assert_eq!(super::size_name(64), "64KB");
        assert_eq!(super::size_name(2048), "2MB");
        assert_eq!(super::size_name(1 << 20), "1GB");
        assert_eq!(super::size_name(16 << 20), "16GB");
    }
}
