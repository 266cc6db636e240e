//! One rule of a device allow-list: which device nodes, and what may be done with them.
//!
//! The spelling is the kernel's own, from the v1 `devices` controller
//! (Documentation/admin-guide/cgroup-v1/devices.rst) and the OCI runtime spec:
//! `c 1:3 rwm` is "the character device 1:3 (/dev/null): read, write, mknod"; `*` is any
//! number. A rule is parsed once, here, into a type; the v1 writer prints it back and the
//! v2 program builder turns it into compares.

use std::fmt;
use std::str::FromStr;

/// Block or character device: the kernel keeps a separate number space for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// `c`: terminals, /dev/null, random, ...
    Char,
    /// `b`: disks, partitions, loop devices.
    Block,
}

impl DeviceKind {
    /// The letter in a rule.
    pub fn letter(self) -> char {
        match self {
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
        }
    }

    /// The value the kernel hands a v2 device program in the low 16 bits of `access_type`
    /// (`BPF_DEVCG_DEV_BLOCK` = 1, `BPF_DEVCG_DEV_CHAR` = 2 in linux/bpf.h).
    pub fn bpf_value(self) -> u32 {
        match self {
            DeviceKind::Block => 1,
            DeviceKind::Char => 2,
        }
    }
}

/// What may be done: a set of `r` (open for reading), `w` (open for writing), `m` (mknod).
/// The bits are the kernel's (`BPF_DEVCG_ACC_MKNOD` = 1, `_READ` = 2, `_WRITE` = 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access(u8);

impl Access {
    pub const MKNOD: Access = Access(1);
    pub const READ: Access = Access(2);
    pub const WRITE: Access = Access(4);
    /// `rwm`.
    pub const ALL: Access = Access(7);

    /// The kernel's bits.
    pub fn bits(self) -> u32 {
        u32::from(self.0)
    }

    /// Both sets together.
    pub const fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    /// Whether every access in `other` is in `self`.
    pub fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in [
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::MKNOD, 'm'),
        ] {
            if self.contains(bit) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// One allow rule: `kind major:minor access`, a number of `None` being `*` (any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceRule {
    pub kind: DeviceKind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: Access,
}

impl DeviceRule {
    /// `c MAJOR:MINOR rwm`: full use of one character device.
    pub const fn char(major: u32, minor: u32) -> DeviceRule {
        DeviceRule {
            kind: DeviceKind::Char,
            major: Some(major),
            minor: Some(minor),
            access: Access::ALL,
        }
    }

    /// `c MAJOR:* rwm`: every character device of one driver (the pseudo-terminals, 136).
    pub const fn char_major(major: u32) -> DeviceRule {
        DeviceRule {
            kind: DeviceKind::Char,
            major: Some(major),
            minor: None,
            access: Access::ALL,
        }
    }

    /// `c *:* m` / `b *:* m`: making any node of that kind, which is not opening it.
    pub const fn mknod_any(kind: DeviceKind) -> DeviceRule {
        DeviceRule {
            kind,
            major: None,
            minor: None,
            access: Access::MKNOD,
        }
    }

    /// Whether this rule allows `access` to the device `kind major:minor` (the meaning the
    /// kernel gives it; the unit tests check the BPF program against this).
    pub fn allows(&self, kind: DeviceKind, major: u32, minor: u32, access: Access) -> bool {
        self.kind == kind
            && self.major.map_or(true, |m| m == major)
            && self.minor.map_or(true, |m| m == minor)
            && self.access.contains(access)
    }
}

impl fmt::Display for DeviceRule {
    /// The v1 spelling, `c 136:* rwm`, which is also what `devices.list` shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        write!(
            f,
            "{} {}:{} {}",
            self.kind.letter(),
            number(self.major),
            number(self.minor),
            self.access
        )
    }
}

impl FromStr for DeviceRule {
    type Err = String;

    /// Parses `c 1:3 rwm`, `b *:* m`. The v1 type `a` (all devices) is refused: an
    /// allow-list that allows everything is no allow-list.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("device rule '{text}' {why}: write it as 'c 1:3 rwm' or 'b *:* m'")
        };
        let mut parts = text.split_whitespace();
        let (Some(kind), Some(numbers), Some(access), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("needs three parts"));
        };
        let kind = match kind {
            "c" => DeviceKind::Char,
            "b" => DeviceKind::Block,
            _ => return Err(bad("must start with c or b")),
        };
        let (major, minor) = numbers
            .split_once(':')
            .ok_or_else(|| bad("needs MAJOR:MINOR"))?;
        let number = |n: &str| -> Result<Option<u32>, String> {
            if n == "*" {
                return Ok(None);
            }
            n.parse()
                .map(Some)
                .map_err(|_| bad("has a device number that is not * or 0..2^32"))
        };
        let mut bits = 0u8;
        for letter in access.chars() {
            bits |= match letter {
                'r' => Access::READ.0,
                'w' => Access::WRITE.0,
                'm' => Access::MKNOD.0,
                _ => return Err(bad("has access letters other than r, w, m")),
            };
        }
        Ok(DeviceRule {
            kind,
            major: number(major)?,
            minor: number(minor)?,
            access: Access(bits),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_print_as_v1_writes_them() {
        assert_eq!(DeviceRule::char(1, 3).to_string(), "c 1:3 rwm");
        assert_eq!(DeviceRule::char_major(136).to_string(), "c 136:* rwm");
        assert_eq!(
            DeviceRule::mknod_any(DeviceKind::Block).to_string(),
            "b *:* m"
        );
    }

    #[test]
    fn rules_parse_and_print_back() {
        for text in [
            "c 1:3 rwm",
            "b *:* m",
            "c 136:* rwm",
            "b 7:0 r",
            "c 10:200 rw",
        ] {
            let rule: DeviceRule = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
        }
        for bad in [
            "a *:* rwm",
            "c 1 rwm",
            "c 1:3",
            "c 1:3 rwx",
            "c x:3 r",
            "c 1:3 r w",
        ] {
            assert!(bad.parse::<DeviceRule>().is_err(), "{bad}");
        }
    }
}
