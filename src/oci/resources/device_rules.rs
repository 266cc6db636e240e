//! `linux.resources.devices` and `linux.devices`: chapter 7's device allow-list, from the
//! config's rules.

use super::super::config::{Device, Resources};
use crate::cgroup::devices::{Access, DeviceKind, DeviceRule};
use crate::cgroup::DeviceAllowList;
use crate::{Error, Result};

/// The device allow-list: Docker's default (what runc adds to every container), then the
/// config's allow rules. Engines start the list with `{"allow": false, "access": "rwm"}`
/// (deny everything), which is where an allow-list starts anyway; any other deny rule would
/// need a deny-list and is refused by name.
pub(super) fn device_list(resources: &Resources) -> Result<DeviceAllowList> {
    let mut rules = DeviceAllowList::docker_default().rules().to_vec();
    for (i, rule) in resources.devices.iter().enumerate() {
        let everything = rule.kind.as_deref().map_or(true, |k| k == "a")
            && rule.major.is_none()
            && rule.minor.is_none();
        if !rule.allow {
            if everything {
                continue;
            }
            return Err(Error::Unsupported(format!(
                "linux.resources.devices[{i}] denies one device, which this runtime does not support (it keeps an allow-list)"
            )));
        }
        let kinds: &[DeviceKind] = match rule.kind.as_deref() {
            Some("c") => &[DeviceKind::Char],
            Some("b") => &[DeviceKind::Block],
            None | Some("a") => &[DeviceKind::Char, DeviceKind::Block],
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "linux.resources.devices[{i}] has type '{other}': use a, b or c"
                )))
            }
        };
        let access =
            parse_access(rule.access.as_deref().unwrap_or("rwm")).ok_or_else(|| {
                Error::Invalid(format!(
                    "linux.resources.devices[{i}] has an access other than r, w, m"
                ))
            })?;
        let number = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n as u32);
        for kind in kinds {
            rules.push(DeviceRule {
                kind: *kind,
                major: number(rule.major),
                minor: number(rule.minor),
                access,
            });
        }
    }
    Ok(DeviceAllowList::new(rules))
}

fn parse_access(text: &str) -> Option<Access> {
    let mut access = None::<Access>;
    for c in text.chars() {
        let bit = match c {
            'r' => Access::READ,
            'w' => Access::WRITE,
            'm' => Access::MKNOD,
            _ => return None,
        };
        access = Some(access.map_or(bit, |a| a.union(bit)));
    }
    access
}

/// `list` with every device node of `linux.devices` allowed: the container may open the
/// nodes its config makes.
pub(super) fn with_nodes(list: &DeviceAllowList, nodes: &[Device]) -> DeviceAllowList {
    let mut rules = list.rules().to_vec();
    for device in nodes {
        let kind = match device.kind.as_str() {
            "b" => DeviceKind::Block,
            _ => DeviceKind::Char,
        };
        rules.push(DeviceRule {
            kind,
            major: Some(device.major as u32),
            minor: Some(device.minor as u32),
            access: Access::ALL,
        });
    }
    DeviceAllowList::new(rules)
}
