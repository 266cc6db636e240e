//! `linux.resources.blockIO`: I/O weights (`--blkio-weight`) and throttles
//! (`--device-read-bps`, `--device-write-iops`…): v1's `blkio` controller, v2's `io`.

use std::path::Path;

use super::super::config::{BlockIo, ThrottleDevice};
use super::dirs::At;
use crate::cgroup::plan::Step;
use crate::{Error, Result};

/// Whether `io` asks for anything (podman may send an empty `{}`).
pub fn asked(io: Option<&BlockIo>) -> bool {
    io.is_some_and(|io| {
        io.weight.is_some_and(|w| w != 0)
            || io.leaf_weight.is_some_and(|w| w != 0)
            || !io.weight_device.is_empty()
            || !throttles(io).iter().all(|(_, _, list)| list.is_empty())
    })
}

/// The four throttles: (v1 file, v2 key of `io.max`, devices).
fn throttles(io: &BlockIo) -> [(&'static str, &'static str, &[ThrottleDevice]); 4] {
    [
        (
            "blkio.throttle.read_bps_device",
            "rbps",
            &io.throttle_read_bps_device,
        ),
        (
            "blkio.throttle.write_bps_device",
            "wbps",
            &io.throttle_write_bps_device,
        ),
        (
            "blkio.throttle.read_iops_device",
            "riops",
            &io.throttle_read_iops_device,
        ),
        (
            "blkio.throttle.write_iops_device",
            "wiops",
            &io.throttle_write_iops_device,
        ),
    ]
}

/// Whether the BFQ I/O scheduler is in the kernel: only it (since CFQ went in Linux 5.0)
/// weighs the I/O of cgroups against each other, and it brings the `bfq.weight` files.
pub fn bfq_available() -> bool {
    std::fs::read_dir("/sys/block").is_ok_and(|disks| {
        disks.flatten().any(|d| {
            std::fs::read_to_string(d.path().join("queue/scheduler")).is_ok_and(|s| {
                s.split_whitespace()
                    .any(|n| n.trim_matches(['[', ']']) == "bfq")
            })
        })
    })
}

/// The writes of `io` into the blkio (v1) or io (v2) cgroup `at`; `v1_mount` is the v1
/// hierarchy's root, whose files show which weight the kernel has; `bfq`: see
/// [`bfq_available`].
pub fn steps(
    io: &BlockIo,
    at: At,
    v1_mount: Option<&Path>,
    bfq: bool,
) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let weights = io.weight.is_some_and(|w| w != 0)
        || io
            .weight_device
            .iter()
            .any(|d| d.weight.is_some_and(|w| w != 0));
    if at.v2 {
        if let Some(weight) = io.weight.filter(|w| *w != 0) {
            // runc: BFQ's weight (10 to 1000, as the spec's) when there is BFQ, else
            // io.weight (1 to 10000, io.cost's) with the range stretched.
            steps.push(match bfq {
                true => Step::write(at.dir.join("io.bfq.weight"), weight.to_string()),
                false => {
                    Step::write(at.dir.join("io.weight"), v2_weight(weight).to_string())
                }
            });
        }
        // Per-device weights only BFQ has; runc 1.1 skips them without it.
        for d in io.weight_device.iter().filter(|_| bfq) {
            if let Some(w) = d.weight.filter(|w| *w != 0) {
                let line = format!("{}:{} {w}", d.major, d.minor);
                steps.push(Step::write(at.dir.join("io.bfq.weight"), line));
            }
        }
        for (_, key, devices) in throttles(io) {
            for d in devices {
                let line = format!("{}:{} {key}={}", d.major, d.minor, d.rate);
                steps.push(Step::write(at.dir.join("io.max"), line));
            }
        }
        return Ok(steps);
    }
    // v1: blkio.weight is CFQ's (before Linux 5.0), blkio.bfq.weight BFQ's.
    let cfq = v1_mount.is_some_and(|m| m.join("blkio.weight").exists());
    let prefix = match (cfq, bfq) {
        (true, _) => "blkio.weight",
        (false, true) => "blkio.bfq.weight",
        (false, false) if weights => {
            return Err(Error::Unsupported(
                "linux.resources.blockIO asks for an I/O weight, which this kernel cannot \
                 keep: it has neither blkio.weight (CFQ, gone since Linux 5.0) nor \
                 blkio.bfq.weight (the BFQ scheduler: modprobe bfq and select it for the disk)"
                    .to_string(),
            ))
        }
        (false, false) => "",
    };
    if let Some(weight) = io.weight.filter(|w| *w != 0) {
        steps.push(Step::write(at.dir.join(prefix), weight.to_string()));
    }
    if let Some(weight) = io.leaf_weight.filter(|w| *w != 0) {
        steps.push(Step::write(
            at.dir.join("blkio.leaf_weight"),
            weight.to_string(),
        ));
    }
    for d in &io.weight_device {
        if let Some(w) = d.weight.filter(|w| *w != 0) {
            let line = format!("{}:{} {w}", d.major, d.minor);
            steps.push(Step::write(at.dir.join(format!("{prefix}_device")), line));
        }
        if let Some(w) = d.leaf_weight.filter(|w| *w != 0) {
            let line = format!("{}:{} {w}", d.major, d.minor);
            steps.push(Step::write(at.dir.join("blkio.leaf_weight_device"), line));
        }
    }
    for (file, _, devices) in throttles(io) {
        for d in devices {
            let line = format!("{}:{} {}", d.major, d.minor, d.rate);
            steps.push(Step::write(at.dir.join(file), line));
        }
    }
    Ok(steps)
}

/// runc's mapping of a blkio weight (10 to 1000) onto io.weight (1 to 10000): the ends
/// meet the ends, so 10 → 1 and 1000 → 10000.
fn v2_weight(weight: u16) -> u64 {
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}
