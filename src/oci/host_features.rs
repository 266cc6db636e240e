//! A field that needs something of the host: `linux.intelRdt` (a class of Intel's Resource
//! Director Technology, through the resctrl filesystem). It is not implemented, and is
//! refused only when it asks for something, with the reason.

use std::path::Path;

use serde_json::Value;

use crate::{Error, Result};

/// Whether the resctrl filesystem is mounted (the kernel's interface to RDT: without it,
/// no class can be made or joined).
pub fn resctrl_mounted(mountinfo: &str) -> bool {
    mountinfo.lines().any(|l| {
        l.split(" - ")
            .nth(1)
            .is_some_and(|t| t.starts_with("resctrl "))
    })
}

/// Refuses `intel_rdt` when it asks for anything.
pub fn check(intel_rdt: Option<&Value>) -> Result<()> {
    let rdt_asks = intel_rdt.is_some_and(|v| !v.as_object().is_some_and(|o| o.is_empty()));
    if rdt_asks {
        let mountinfo = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(mountinfo)
            .map_err(|e| Error::io("looking for resctrl", mountinfo, e))?;
        let why = if resctrl_mounted(&text) {
            "this runtime does not implement Intel RDT classes: use runc"
        } else {
            "the host has no resctrl filesystem mounted (mount -t resctrl resctrl /sys/fs/resctrl, on a CPU with RDT)"
        };
        return Err(Error::Unsupported(format!(
            "config.json asks for linux.intelRdt, which this runtime cannot give: {why}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resctrl_is_found_by_its_filesystem_type() {
        let line =
            "40 23 0:36 / /sys/fs/resctrl rw,relatime shared:20 - resctrl resctrl rw";
        assert!(resctrl_mounted(line));
        assert!(!resctrl_mounted("22 1 0:21 / /sys rw - sysfs sysfs rw"));
    }
}
