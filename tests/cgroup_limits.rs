//! Parsing what the user types into typed limits (no root needed).

use rstest::rstest;
use workbook::cgroup::{CpuQuota, CpuWeight, MemoryLimit, PidsLimit};

#[rstest]
#[case("64M", 64 << 20)]
#[case("64m", 64 << 20)]
#[case("1G", 1 << 30)]
#[case("6144K", 6 << 20)]
#[case("6M", 6 << 20)]
#[case("2T", 2 << 40)]
#[case("6291456", 6_291_456)]
fn memory_sizes_parse(#[case] text: &str, #[case] bytes: u64) {
    assert_eq!(text.parse::<MemoryLimit>().map(|m| m.bytes()), Ok(bytes));
}

#[rstest]
#[case("12Q", "unknown unit")]
#[case("-1", "must start with a whole number")]
#[case("0", "zero")]
#[case("0M", "zero")]
#[case("1", "below 6 MiB")]
#[case("512K", "below 6 MiB")]
#[case("6291455", "below 6 MiB")]
#[case("1.5G", "unknown unit")]
#[case("", "must start with a whole number")]
#[case("M", "must start with a whole number")]
#[case("99999999999999999999", "larger than the kernel can count")]
#[case("99999999999T", "larger than the kernel can count")]
#[case("18446744073709551615", "larger than the kernel can count")]
fn memory_sizes_rejected(#[case] text: &str, #[case] reason: &str) {
    let err = text.parse::<MemoryLimit>().expect_err(text);
    assert!(err.contains(reason), "{text}: {err}");
    assert!(!err.contains('\n'), "one sentence: {err}");
}

#[rstest]
#[case("0.5", 50_000)]
#[case("1", 100_000)]
#[case("2", 200_000)]
#[case("0.2", 20_000)]
#[case("1.25", 125_000)]
#[case("0.01", 1_000)]
#[case("0.00001", 1)] // below the kernel's minimum: rejected below
fn cpu_quotas_parse(#[case] text: &str, #[case] quota_us: u64) {
    match text.parse::<CpuQuota>() {
        Ok(q) => {
            assert_eq!(q.quota_us(), quota_us);
            assert_eq!(q.period_us(), 100_000);
        }
        Err(e) => assert!(quota_us < 1_000 && e.contains("below 0.01"), "{text}: {e}"),
    }
}

#[rstest]
#[case("0")]
#[case("0.0")]
#[case("-1")]
#[case("-0.5")]
#[case("1.5.2")]
#[case("abc")]
#[case("")]
#[case(".5")]
#[case("1.")]
#[case("0.123456")]
#[case("1e3")]
#[case("99999999999999999999")]
#[case("18446744073709551615")]
fn cpu_quotas_rejected(#[case] text: &str) {
    let err = text.parse::<CpuQuota>().expect_err(text);
    assert!(err.contains(&format!("'{text}'")), "{err}");
    assert!(!err.contains('\n'));
}

#[rstest]
#[case("1", 1, 10)]
#[case("100", 100, 1024)]
#[case("10000", 10_000, 102_400)]
fn cpu_weights_parse(#[case] text: &str, #[case] weight: u16, #[case] shares: u64) {
    let w: CpuWeight = text.parse().expect(text);
    assert_eq!((w.weight(), w.shares()), (weight, shares));
}

#[rstest]
#[case("0")]
#[case("10001")]
#[case("-1")]
#[case("1.5")]
fn cpu_weights_rejected(#[case] text: &str) {
    assert!(text.parse::<CpuWeight>().is_err(), "{text}");
}

#[rstest]
#[case("64", 64)]
#[case("1", 1)]
#[case("4194304", 4_194_304)]
fn pids_limits_parse(#[case] text: &str, #[case] n: u32) {
    assert_eq!(text.parse::<PidsLimit>().map(|p| p.get()), Ok(n));
}

#[rstest]
#[case("-1", "whole number")]
#[case("0", "zero")]
#[case("4194305", "whole number")]
#[case("99999999999999999999", "whole number")]
#[case("max", "whole number")]
#[case("1.5", "whole number")]
fn pids_limits_rejected(#[case] text: &str, #[case] reason: &str) {
    let err = text.parse::<PidsLimit>().expect_err(text);
    assert!(err.contains(reason), "{text}: {err}");
}
