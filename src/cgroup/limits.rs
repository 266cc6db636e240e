//! Limits, parsed once from what the user typed into types the kernel files can take.
//!
//! A string such as `64M` is checked here, at the edge of the program, and nowhere else:
//! the rest of the library only sees a [`MemoryLimit`], which cannot be zero, negative or
//! larger than the kernel's counters. The types hold numbers in the kernel's units (bytes,
//! microseconds, a weight that also converts to v1's shares); which file each one goes
//! into, where v1 and v2 disagree, is written down by the plans in [`super::v1`] and
//! [`super::v2`].

use std::fmt;
use std::str::FromStr;

use super::devices::DeviceAllowList;

/// A hard memory limit in bytes (`--memory 64M`). Binary units: `K` = 1024 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit(u64);

impl MemoryLimit {
    /// The smallest limit accepted: 6 MiB, as `docker run --memory`.
    pub const MIN: u64 = 6 << 20;

    /// The limit in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// A limit of `bytes`: more than zero, and well inside the kernel's signed page counter.
    pub fn from_bytes(bytes: u64) -> Result<Self, String> {
        if bytes == 0 {
            return Err(
                "is zero, which would leave no room for the command to start".into(),
            );
        }
        if bytes > i64::MAX as u64 / 2 {
            return Err("is larger than the kernel can count".into());
        }
        Ok(MemoryLimit(bytes))
    }
}

impl FromStr for MemoryLimit {
    type Err = String;

    /// Accepts plain bytes (`1048576`) or a number followed by one of `K`, `M`, `G`, `T`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits_end);
        if number.is_empty() {
            return Err(format!(
                "memory size '{text}' must start with a whole number of bytes, as in 64M or 1048576"
            ));
        }
        let shift = match unit.to_ascii_uppercase().as_str() {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            _ => {
                return Err(format!(
                    "memory size '{text}' has an unknown unit '{unit}': use K, M, G or T (powers of 1024), or plain bytes"
                ))
            }
        };
        let too_big =
            || format!("memory size '{text}' is larger than the kernel can count");
        let value: u64 = number.parse().map_err(|_| too_big())?;
        let bytes = value.checked_mul(1u64 << shift).ok_or_else(too_big)?;
        let limit = MemoryLimit::from_bytes(bytes)
            .map_err(|e| format!("memory size '{text}' {e}"))?;
        // Below this the kernel OOM-kills the container while it starts (Docker's floor).
        // Only a person's typed limit is held to it: an OCI config's limit is the engine's
        // choice, and runc takes any.
        if bytes < MemoryLimit::MIN {
            return Err(format!(
                "memory size '{text}' is below 6 MiB, the least a container needs to start (Docker refuses less too)"
            ));
        }
        Ok(limit)
    }
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human_bytes(self.0))
    }
}

/// `33554432` → `32 MiB`; exact when the value is a whole number of the unit.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u32); 4] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (name, shift) in UNITS {
        let unit = 1u64 << shift;
        if bytes >= unit {
            if bytes % unit == 0 {
                return format!("{} {name}", bytes / unit);
            }
            return format!("{:.1} {name}", bytes as f64 / unit as f64);
        }
    }
    format!("{bytes} bytes")
}

/// The scheduling period the CPU quota is spread over: 100 ms, the kernel's default.
pub const CPU_PERIOD_US: u64 = 100_000;

/// The kernel refuses a quota below 1 ms per period.
const CPU_MIN_QUOTA_US: u64 = 1_000;

/// A CPU bandwidth limit (`--cpus 0.5`): the group may run `quota_us` microseconds in every
/// `period_us`, summed over all CPUs. `0.5` is 50 ms per 100 ms; `2` is two CPUs' worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuQuota {
    quota_us: u64,
    period_us: u64,
}

impl CpuQuota {
    /// Microseconds the group may run per period.
    pub fn quota_us(self) -> u64 {
        self.quota_us
    }

    /// The period, in microseconds.
    pub fn period_us(self) -> u64 {
        self.period_us
    }
}

impl FromStr for CpuQuota {
    type Err = String;

    /// A decimal number of CPUs, parsed as fixed point (no float rounding): `0.5`, `2`,
    /// `1.25`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad =
            || format!("CPU count '{text}' is not a number of CPUs such as 0.5, 1 or 2.25");
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(bad());
        }
        if text.ends_with('.') || fraction.len() > 5 {
            return Err(format!(
                "CPU count '{text}' needs 1 to 5 digits after the point (the quota is counted in microseconds)"
            ));
        }
        let too_big = || format!("CPU count '{text}' is larger than any machine has");
        let whole: u64 = whole.parse().map_err(|_| too_big())?;
        let scale = 10u64.pow(fraction.len() as u32);
        let fraction: u64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| bad())?
        };
        let quota_us = whole
            .checked_mul(CPU_PERIOD_US)
            .and_then(|w| w.checked_add(fraction * CPU_PERIOD_US / scale))
            .filter(|q| *q <= 1_000_000 * CPU_PERIOD_US)
            .ok_or_else(too_big)?;
        if quota_us < CPU_MIN_QUOTA_US {
            return Err(format!(
                "CPU count '{text}' is below 0.01, the smallest quota the kernel accepts (1 ms per 100 ms)"
            ));
        }
        Ok(CpuQuota {
            quota_us,
            period_us: CPU_PERIOD_US,
        })
    }
}

impl fmt::Display for CpuQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpus = self.quota_us as f64 / self.period_us as f64;
        write!(
            f,
            "{cpus} CPU ({} µs every {} µs)",
            self.quota_us, self.period_us
        )
    }
}

/// Checking a quota against the machine, kept apart from the parsing above: parsing needs
/// no machine, so its tests run anywhere.
impl CpuQuota {
    /// Refuses a quota of more CPUs than the machine has (`online`, see
    /// [`online_cpus`]). The kernel would take `--cpus 1000000` and never enforce it: a
    /// group cannot run on more CPUs than exist, so such a "limit" is a typo or a
    /// misunderstanding, and Docker refuses it too.
    pub fn within(self, online: usize) -> Result<CpuQuota, String> {
        let most = online as u64 * self.period_us;
        if self.quota_us <= most {
            return Ok(self);
        }
        let available = match online {
            1 => "there is only 1 CPU available".to_string(),
            n => format!("there are only {n} CPUs available"),
        };
        Err(format!(
            "CPU count '{}' is more than this machine has: the range of CPUs is from 0.01 to {online}.00, as {available}",
            self.cpus_text()
        ))
    }

    /// The number of CPUs as a decimal, as the user would write it: `0.5`, `2`, `1.25`.
    fn cpus_text(self) -> String {
        let whole = self.quota_us / self.period_us;
        let fraction = self.quota_us % self.period_us;
        if fraction == 0 {
            return whole.to_string();
        }
        let digits = format!("{:05}", fraction * 100_000 / self.period_us);
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// The CPUs this process may run on: the count of its affinity mask, as Docker counts them
/// (`nproc` shows the same). A CPU quota above it could never be used.
pub fn online_cpus() -> usize {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0
        {
            return (libc::CPU_COUNT(&set) as usize).max(1);
        }
        // A machine of more than 1024 CPUs does not fit the fixed-size mask: ask sysconf.
        libc::sysconf(libc::_SC_NPROCESSORS_ONLN).max(1) as usize
    }
}

/// A relative CPU weight in v2 units (`--cpu-weight 100`): 1 to 10000, default 100. It only
/// matters when CPUs are contended: a group of weight 200 gets twice the time of one of
/// 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuWeight(u16);

impl CpuWeight {
    /// The v2 value for `cpu.weight`.
    pub fn weight(self) -> u16 {
        self.0
    }

    /// The v1 value for `cpu.shares`, whose default is 1024 where v2's is 100. Scaling by
    /// 1024/100 keeps the default a default (100 → 1024) and every ratio between groups.
    pub fn shares(self) -> u64 {
        u64::from(self.0) * 1024 / 100
    }
}

impl FromStr for CpuWeight {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().parse::<u16>() {
            Ok(w) if (1..=10_000).contains(&w) => Ok(CpuWeight(w)),
            _ => Err(format!(
                "CPU weight '{text}' must be a whole number from 1 to 10000 (100 is the default)"
            )),
        }
    }
}

/// The most processes (threads, in fact: the kernel counts tasks) the group may hold at
/// once (`--pids 64`). A `fork()` or `clone()` beyond it fails with EAGAIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidsLimit(u32);

impl PidsLimit {
    /// The limit as a number of tasks.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for PidsLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        // PID_MAX_LIMIT: no machine has more task ids than this.
        const PID_MAX_LIMIT: u32 = 4 * 1024 * 1024;
        match text.trim().parse::<u32>() {
            Ok(n) if (1..=PID_MAX_LIMIT).contains(&n) => Ok(PidsLimit(n)),
            Ok(0) => Err(format!(
                "pids limit '{text}' is zero, so not even the command itself could start"
            )),
            _ => Err(format!(
                "pids limit '{text}' must be a whole number from 1 to {PID_MAX_LIMIT}"
            )),
        }
    }
}

/// Limits given in the kernel's own units (an OCI config's numbers) rather than typed by a
/// user.
impl CpuQuota {
    /// `quota_us` every `period_us` microseconds; the kernel's bounds are 1 ms to 1 s for
    /// the period and at least 1 ms for the quota.
    pub fn from_us(quota_us: u64, period_us: u64) -> Result<CpuQuota, String> {
        if !(1_000..=1_000_000).contains(&period_us) || quota_us < CPU_MIN_QUOTA_US {
            return Err(format!(
                "CPU quota {quota_us} µs per {period_us} µs is outside the kernel's bounds \
                 (period 1000 to 1000000 µs, quota at least 1000 µs)"
            ));
        }
        Ok(CpuQuota {
            quota_us,
            period_us,
        })
    }
}

impl CpuWeight {
    /// The weight for v1 `cpu.shares` (default 1024, range 2 to 262144), as the inverse of
    /// [`CpuWeight::shares`].
    pub fn from_shares(shares: u64) -> CpuWeight {
        CpuWeight((shares.saturating_mul(100) / 1024).clamp(1, 10_000) as u16)
    }
}

/// Everything a cgroup can be asked to enforce. `None` leaves the kernel's default (no
/// limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<MemoryLimit>,
    pub cpus: Option<CpuQuota>,
    pub cpu_weight: Option<CpuWeight>,
    pub pids: Option<PidsLimit>,
    /// Which device nodes may be opened (chapter 7 sets Docker's list; `None`: all, as on
    /// the host). Like the OCI spec's `linux.resources.devices`, a cgroup setting.
    pub devices: Option<DeviceAllowList>,
}

impl Limits {
    /// Checks the limits that depend on the machine (so far the CPU quota against the CPUs
    /// there are), before anything is made.
    pub fn check_machine(&self) -> crate::Result<()> {
        if let Some(cpus) = self.cpus {
            cpus.within(online_cpus()).map_err(crate::Error::Invalid)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_to_shares_keeps_the_default() {
        assert_eq!(CpuWeight(100).shares(), 1024);
        assert_eq!(CpuWeight(1).shares(), 10);
        assert_eq!(CpuWeight(10_000).shares(), 102_400);
    }

    #[rstest::rstest]
    #[case("0.01", 2, None)]
    #[case("2", 2, None)]
    #[case("1.99999", 2, None)]
    #[case("1", 1, None)]
    #[case("2.00001", 2, Some("CPU count '2.00001' is more than this machine has: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"))]
    #[case("1000000", 2, Some("CPU count '1000000' is more than this machine has: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"))]
    #[case("1.5", 1, Some("CPU count '1.5' is more than this machine has: the range of CPUs is from 0.01 to 1.00, as there is only 1 CPU available"))]
    #[case(
        "65",
        64,
        Some(
            "the range of CPUs is from 0.01 to 64.00, as there are only 64 CPUs available"
        )
    )]
    fn a_quota_above_the_machine_is_refused_with_the_range(
        #[case] text: &str,
        #[case] online: usize,
        #[case] refused: Option<&str>,
    ) {
        let quota: CpuQuota = text.parse().expect("a valid CPU count");
        match (quota.within(online), refused) {
            (Ok(q), None) => assert_eq!(q, quota),
            (Err(message), Some(says)) => assert!(message.contains(says), "{message}"),
            (got, want) => panic!("{text} on {online} CPUs: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn online_cpus_counts_at_least_one() {
        assert!(online_cpus() >= 1);
    }

    #[test]
    fn bytes_in_words() {
        assert_eq!(human_bytes(32 << 20), "32 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
    }
}
