//! Outbound NAT: let a container reach beyond the host with the host's own address.
//!
//! The bridge's subnet is private: a reply from outside could never find its way back to
//! 10.203.0.2. Masquerading rewrites the source address of packets that leave the host to
//! the address of the device they leave by, and connection tracking rewrites the replies
//! back. Docker installs the same rule (`-t nat -A POSTROUTING -s 172.17.0.0/16 ! -o
//! docker0 -j MASQUERADE`). Packets are only forwarded between devices when the host routes
//! (`net.ipv4.ip_forward = 1`), which `--nat` switches on, as Docker does, and leaves on.
//!
//! Each container gets its own nftables table, `workbook_nat_<address in hex>`, holding one
//! rule for its own address: deleting the table is deleting exactly this container's rule,
//! and a stale lease names the table to delete. The rule is installed with the `nft`
//! program (package `nftables`): nftables' netlink protocol is a byte code of expressions,
//! a chapter of its own; links and addresses, the subject here, go over rtnetlink from our
//! own code.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::{Error, Result};

/// The nftables table of the container with address `ip`.
pub fn table_name(ip: Ipv4Addr) -> String {
    format!("workbook_nat_{:08x}", u32::from(ip))
}

/// The masquerade rule of one container. Dropping it deletes the rule.
#[derive(Debug)]
pub struct NatRule {
    ip: Ipv4Addr,
}

/// Installs the masquerade rule for packets from `ip` that leave the host by any device but
/// the bridge (traffic between containers, and to the host, keeps its addresses).
pub fn install(ip: Ipv4Addr, bridge: &str) -> Result<NatRule> {
    enable_forwarding()?;
    let table = table_name(ip);
    let script = format!(
        "table ip {table} {{\n\
         \tchain postrouting {{\n\
         \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\tip saddr {ip} oifname != \"{bridge}\" masquerade\n\
         \t}}\n\
         }}\n"
    );
    nft(
        &["-f", "-"],
        Some(&script),
        &format!("installing the NAT rule for {ip}"),
    )?;
    Ok(NatRule { ip })
}

/// Deletes the table of `ip` if it exists. Returns whether it did.
pub fn remove(ip: Ipv4Addr) -> Result<bool> {
    let table = table_name(ip);
    if !exists(&table)? {
        return Ok(false);
    }
    nft(
        &["delete", "table", "ip", &table],
        None,
        &format!("deleting the NAT rule of {ip}"),
    )?;
    Ok(true)
}

/// Whether the nftables table `table` exists (in the ip family).
pub fn exists(table: &str) -> Result<bool> {
    let out = nft(
        &["list", "tables", "ip"],
        None,
        "listing the nftables tables",
    )?;
    Ok(out.lines().any(|l| l.trim() == format!("table ip {table}")))
}

impl Drop for NatRule {
    fn drop(&mut self) {
        if let Err(e) = remove(self.ip) {
            eprintln!("warning: {e}");
        }
    }
}

fn enable_forwarding() -> Result<()> {
    let path = std::path::Path::new("/proc/sys/net/ipv4/ip_forward");
    std::fs::write(path, "1")
        .map_err(|e| Error::io("switching on IPv4 forwarding", path, e))
}

/// Runs `nft` with `args` (and `stdin`), returning its standard output.
fn nft(args: &[&str], stdin: Option<&str>, what: &str) -> Result<String> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Unsupported(format!(
                    "{what} needs the nft program, which is not installed: install the nftables package (apt-get install nftables)"
                ))
            } else {
                Error::io(what.to_string(), std::path::Path::new("nft"), e)
            }
        })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).map_err(|e| {
            Error::io(what.to_string(), std::path::Path::new("nft (stdin)"), e)
        })?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(what.to_string(), std::path::Path::new("nft"), e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Command {
            program: "nft".into(),
            reason: format!(
                "{what} failed: {}",
                err.lines().next().unwrap_or("no message").trim()
            ),
            code: 125,
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
