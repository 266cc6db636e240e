//! Privileged: container networking through the built binary. Every check reads the
//! kernel's state — the devices in /sys/class/net (and the bridge's ports in
//! /sys/class/net/wb0/brif), the container's own /proc/net files, nftables' tables — or
//! sends traffic that only the kernel can deliver: from the host to a container and between
//! two containers. All traffic stays on this machine: the bridge's subnet (in namespaces
//! these tests create) and 127.0.0.1.
//!
//! Every test is `#[serial]` and holds a [`Tidy`] guard, which on every path kills the
//! runtimes it started, runs `cleanup`, deletes what the test made on the host (a dummy
//! device, test bridges) and puts `net.ipv4.ip_forward` back. The default bridge `wb0` may
//! stay, as it does after any run (see the book).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serial_test::serial;

const BIN: &str = env!("CARGO_BIN_EXE_07-full-container");

fn run(args: &[&str]) -> Output {
    let mut all = vec!["run"];
    all.extend(args);
    common::run_bin(BIN, &all)
}

/// What a test leaves to undo, undone on drop.
struct Tidy {
    runtimes: Vec<Child>,
    devices: Vec<String>,
    forward: Option<String>,
}

impl Tidy {
    fn new() -> Tidy {
        Tidy {
            runtimes: Vec::new(),
            devices: Vec::new(),
            forward: std::fs::read_to_string(FORWARD).ok(),
        }
    }

    /// Starts a runtime that prints `ready` once its command runs, and waits for that line.
    fn start(&mut self, args: &[&str]) -> usize {
        self.start_all(&[args.to_vec()])[0]
    }

    /// Starts one runtime per argument list, all at once, and waits until each has printed
    /// `ready`. Returns their indices in `runtimes`. A runtime that did not start fails the
    /// test with every such runtime's exit status and stderr: a flake must say what
    /// happened.
    fn start_all(&mut self, runs: &[Vec<&str>]) -> Vec<usize> {
        let first = self.runtimes.len();
        for args in runs {
            let child = Command::new(BIN)
                .arg("run")
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the runtime");
            self.runtimes.push(child);
        }
        // One reader per runtime, so that a runtime that hangs cannot hide the others.
        let (tx, rx) = std::sync::mpsc::channel();
        for i in first..self.runtimes.len() {
            let out = self.runtimes[i].stdout.take().expect("stdout");
            let err = self.runtimes[i].stderr.take().expect("stderr");
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(out);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                if line == "ready\n" {
                    let _ = tx.send((i, Ok((reader.into_inner(), err))));
                } else {
                    // It ended (or said something else): its stderr says why.
                    let mut text = String::new();
                    let mut err = err;
                    let _ = err.read_to_string(&mut text);
                    let _ = tx.send((i, Err((line, text))));
                }
            });
        }
        drop(tx);
        let deadline = Instant::now() + START_TIMEOUT;
        let mut pending: BTreeSet<usize> = (first..self.runtimes.len()).collect();
        let mut failures = Vec::new();
        while !pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((i, result)) = rx.recv_timeout(left) else {
                break;
            };
            pending.remove(&i);
            match result {
                Ok((out, err)) => {
                    self.runtimes[i].stdout = Some(out);
                    self.runtimes[i].stderr = Some(err);
                }
                Err((line, err)) => {
                    let status = self.runtimes[i].wait().expect("wait for the runtime");
                    failures.push(format!(
                        "runtime {i} {:?}: {status}; stdout {line:?}; stderr: {err}",
                        runs[i - first]
                    ));
                }
            }
        }
        for i in &pending {
            let status = self.runtimes[*i].try_wait().ok().flatten();
            failures.push(format!(
                "runtime {i} {:?}: no `ready` within {START_TIMEOUT:?} (status {status:?})",
                runs[i - first]
            ));
        }
        assert!(
            failures.is_empty(),
            "{} of {} runtimes did not start:\n{}",
            failures.len(),
            runs.len(),
            failures.join("\n")
        );
        (first..self.runtimes.len()).collect()
    }

    /// Ends runtime `i` with SIGTERM (it forwards it; PID 1 without a handler is killed).
    fn stop(&mut self, i: usize) {
        let child = &mut self.runtimes[i];
        drop(child.stdin.take());
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        child.wait().expect("wait for the runtime");
    }
}

impl Drop for Tidy {
    fn drop(&mut self) {
        for child in &mut self.runtimes {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = common::run_bin(BIN, &["cleanup"]);
        for d in &self.devices {
            let _ = Command::new("ip").args(["link", "del", d]).output();
        }
        if let Some(value) = &self.forward {
            let _ = std::fs::write(FORWARD, value);
        }
    }
}

const FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// How long a runtime may take to start its command: generous, for the VM's emulated CPU.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The host's veths made by the workbook, from the kernel's device list.
fn veths() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("wbv"))
        .collect()
}

/// The ports of bridge `name`, as the kernel lists them.
fn bridge_ports(name: &str) -> BTreeSet<String> {
    std::fs::read_dir(format!("/sys/class/net/{name}/brif"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every lease line of every bridge.
fn leases() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(workbook::container::network::attach::LEASE_DIR) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".leases"))
        .flat_map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    lines
}

fn nft_tables() -> String {
    let out = Command::new("nft")
        .args(["list", "tables", "ip"])
        .output()
        .expect("nft (package nftables) is needed");
    common::stdout(&out)
}

/// Nothing of the network is left: no veth, no lease, no NAT table. The kernel deletes a
/// veth with the container's network namespace, in a work queue, after the runtime has
/// exited, and the lease goes once the veth is gone: so this polls for at most 10 s first.
fn assert_nothing_left(context: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while (!veths().is_empty() || !leases().is_empty()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(veths(), BTreeSet::new(), "{context}: veths left");
    assert_eq!(leases(), Vec::<String>::new(), "{context}: leases left");
    assert!(
        !nft_tables().contains("workbook_nat_"),
        "{context}: NAT table left: {}",
        nft_tables()
    );
}

/// The address `ps` records for container `name`.
fn address_of(name: &str) -> Ipv4Addr {
    let path = workbook::container::host_files::containers_dir()
        .join(name)
        .join("address");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .expect("an IPv4 address")
}

fn in_subnet(ip: Ipv4Addr) -> bool {
    // The default subnet, 10.203.0.0/24, less the bridge's own address.
    let [a, b, c, d] = ip.octets();
    [a, b, c] == [10, 203, 0] && !matches!(d, 0 | 1 | 255)
}

/// The container's default gateway and devices, read from the kernel's tables inside it.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_container_has_eth0_an_address_in_the_subnet_and_a_default_route() {
    if !privileged!() {
        return;
    }
    let _tidy = Tidy::new();
    let out = run(&[
        "--",
        "sh",
        "-c",
        "cat /proc/net/route; echo ---; cat /proc/net/dev; echo ---; ip -4 -o addr show dev eth0",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let parts: Vec<&str> = text.split("---\n").collect();
    // /proc/net/route: Iface Destination Gateway … in little-endian hex.
    let default = parts[0]
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f[1] == "00000000")
        .unwrap_or_else(|| panic!("no default route: {}", parts[0]));
    assert_eq!(default[0], "eth0");
    let gateway = u32::from_str_radix(default[2], 16).expect("hex");
    assert_eq!(
        Ipv4Addr::from(gateway.swap_bytes()),
        Ipv4Addr::new(10, 203, 0, 1)
    );
    assert_eq!(workbook::net::parse_interfaces(parts[1]), ["lo", "eth0"]);
    let inet = parts[2]
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .unwrap_or_else(|| panic!("no address: {}", parts[2]));
    let ip: Ipv4Addr = inet.split('/').next().unwrap().parse().expect("ip");
    assert!(in_subnet(ip) && inet.ends_with("/24"), "{inet}");
    assert_nothing_left("after a run");
}

/// The host reaches a container: ICMP echo with the host's busybox ping, then TCP to a
/// busybox `nc -l` inside, and the bridge has the container's veth as a port meanwhile.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_host_reaches_the_container_by_ping_and_tcp() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    let i = tidy.start(&[
        "--name",
        "net-nc",
        "--",
        "sh",
        "-c",
        "echo ready; echo hello-from-nc | nc -l -p 7000",
    ]);
    let ip = address_of("net-nc");
    assert!(in_subnet(ip), "{ip}");
    let veth = format!("wbv{:08x}", u32::from(ip));
    assert!(
        bridge_ports("wb0").contains(&veth),
        "{:?}",
        bridge_ports("wb0")
    );
    let ping = Command::new("busybox")
        .args(["ping", "-c", "1", "-W", "2", &ip.to_string()])
        .output()
        .expect("busybox on the host");
    assert!(
        common::stdout(&ping).contains("1 packets received"),
        "{}",
        common::stdout(&ping)
    );
    let text = read_from((ip, 7000));
    assert_eq!(text, "hello-from-nc\n");
    tidy.stop(i);
    assert_nothing_left("after the nc container");
}

/// Connects (retrying while the server inside starts) and reads to the end.
fn read_from(addr: (Ipv4Addr, u16)) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr.into(), Duration::from_secs(2))
        {
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            if !text.is_empty() {
                return text;
            }
        }
        assert!(Instant::now() < deadline, "nothing from {addr:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two containers on the bridge reach each other by address (ping and TCP).
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn two_containers_reach_each_other_by_address() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    let a = tidy.start(&[
        "--name",
        "net-a",
        "--",
        "sh",
        "-c",
        "echo ready; echo hello-from-a | nc -l -p 7000",
    ]);
    let ip = address_of("net-a").to_string();
    let script = format!("ping -c 1 -W 2 {ip} | grep transmitted; nc {ip} 7000 </dev/null");
    let out = run(&["--name", "net-b", "--", "sh", "-c", &script]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(
        common::stdout(&out),
        "1 packets transmitted, 1 packets received, 0% packet loss\nhello-from-a\n"
    );
    tidy.stop(a);
    assert_nothing_left("after two containers");
}

/// `-p 18080:80` with busybox httpd inside: a client on 127.0.0.1:18080 gets the file; when
/// the container ends the port is closed again.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_published_port_serves_a_file_on_localhost() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    let i = tidy.start(&[
        "--name",
        "net-web",
        "-p",
        "18080:80",
        "--",
        "sh",
        "-c",
        "mkdir -p /www && echo served-by-httpd > /www/index.html && echo ready && exec httpd -f -p 80 -h /www",
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let mut s = TcpStream::connect(("127.0.0.1", 18080)).expect("the proxy listens");
        s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
            .expect("send");
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        if reply.starts_with("HTTP/1.") {
            break reply;
        }
        assert!(Instant::now() < deadline, "no answer through the proxy");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        body.lines().next().unwrap_or("").contains(" 200 "),
        "{body}"
    );
    assert!(body.ends_with("served-by-httpd\n"), "{body}");
    tidy.stop(i);
    assert!(
        TcpStream::connect(("127.0.0.1", 18080)).is_err(),
        "the proxy is gone"
    );
    assert_nothing_left("after the published port");
}

/// `--network none`: the namespace holds only lo; no veth or lease is made.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn network_none_has_only_lo() {
    if !privileged!() {
        return;
    }
    let _tidy = Tidy::new();
    let out = run(&["--network", "none", "--", "cat", "/proc/net/dev"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(
        workbook::net::parse_interfaces(&common::stdout(&out)),
        ["lo"]
    );
    assert_nothing_left("after --network none");
}

/// `--network host`: no network namespace; the container sees the host's devices.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn network_host_shares_the_hosts_namespace() {
    if !privileged!() {
        return;
    }
    let _tidy = Tidy::new();
    let out = run(&["--network", "host", "--", "readlink", "/proc/self/ns/net"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let host = std::fs::read_link("/proc/self/ns/net").expect("our netns");
    assert_eq!(common::stdout(&out).trim(), host.to_string_lossy());
    assert_nothing_left("after --network host");
}

/// 20 runtimes started at once, all alive together, hold 20 different addresses of the
/// subnet, and the bridge has 20 ports; when they end, every veth and lease is gone.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn twenty_containers_started_at_once_get_twenty_addresses() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    let ports_before = bridge_ports("wb0").len();
    let names: Vec<String> = (0..20).map(|i| format!("net-many-{i}")).collect();
    let runs: Vec<Vec<&str>> = names
        .iter()
        .map(|n| vec!["--name", n, "--", "sh", "-c", "echo ready; read _"])
        .collect();
    let started = tidy.start_all(&runs);
    let addresses: BTreeSet<Ipv4Addr> = (0..20)
        .map(|i| address_of(&format!("net-many-{i}")))
        .collect();
    assert_eq!(addresses.len(), 20, "{addresses:?}");
    assert!(addresses.iter().all(|ip| in_subnet(*ip)), "{addresses:?}");
    assert_eq!(leases().len(), 20);
    assert_eq!(bridge_ports("wb0").len(), ports_before + 20);
    for i in started {
        tidy.stop(i);
    }
    assert_nothing_left("after 20 at once");
}

/// `--nat` installs the masquerade rule for the container's address (it is in nftables'
/// ruleset while the container runs) and removes it at exit. No traffic is sent.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn nat_rule_appears_and_disappears() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    let i = tidy.start(&[
        "--name",
        "net-nat",
        "--nat",
        "--",
        "sh",
        "-c",
        "echo ready; read _",
    ]);
    let ip = address_of("net-nat");
    let table = format!("workbook_nat_{:08x}", u32::from(ip));
    let out = Command::new("nft")
        .args(["list", "table", "ip", &table])
        .output()
        .expect("nft");
    let rules = common::stdout(&out);
    assert!(
        rules.contains(&format!("ip saddr {ip} oifname != \"wb0\" masquerade")),
        "{rules}{}",
        common::stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(FORWARD).expect("sysctl").trim(),
        "1"
    );
    tidy.stop(i);
    assert_nothing_left("after --nat");
}

/// SIGKILL of the runtime: the proxy dies with it (the port is free at once), the kernel
/// deletes the veth with the namespace, the lease and the NAT rule stay — until `cleanup`.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn after_sigkill_cleanup_gives_back_the_lease_and_the_nat_rule() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    let i = tidy.start(&[
        "--name",
        "net-killed",
        "--nat",
        "-p",
        "18081:80",
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 60",
    ]);
    let ip = address_of("net-killed");
    let init: i32 = std::fs::read_to_string(
        workbook::container::host_files::containers_dir().join("net-killed/init"),
    )
    .expect("init")
    .trim()
    .parse()
    .expect("pid");
    let runtime = &mut tidy.runtimes[i];
    kill(Pid::from_raw(runtime.id() as i32), Signal::SIGKILL).expect("SIGKILL");
    runtime.wait().expect("wait");
    common::wait_until_dead(init);
    assert!(
        TcpListener::bind(("0.0.0.0", 18081)).is_ok(),
        "the proxy's port is free"
    );
    assert_eq!(leases().len(), 1, "the lease outlives a SIGKILL");
    assert!(nft_tables().contains(&format!("workbook_nat_{:08x}", u32::from(ip))));
    let out = common::run_bin(BIN, &["cleanup"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains(&format!("{ip} of net-killed")),
        "{}",
        common::stdout(&out)
    );
    assert_nothing_left("after SIGKILL and cleanup");
}

/// The next run reclaims a killed run's lease by itself (no `cleanup`), and gets its
/// address.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_next_run_reclaims_a_stale_lease() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    let i = tidy.start(&[
        "--name",
        "net-stale",
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 60",
    ]);
    let ip = address_of("net-stale");
    let runtime = &mut tidy.runtimes[i];
    kill(Pid::from_raw(runtime.id() as i32), Signal::SIGKILL).expect("SIGKILL");
    runtime.wait().expect("wait");
    assert_eq!(leases().len(), 1);
    // The kernel deletes the dead run's veth when its namespace dies, in a work queue,
    // moments after the container's last process; until then the lease is not reclaimable
    // (a_stale_lease_is_reclaimed_only_once_its_veth_is_gone tests that side).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !veths().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        veths(),
        BTreeSet::new(),
        "the kernel deleted the dead run's veth"
    );
    assert_eq!(
        leases().len(),
        1,
        "the dead run's lease waits for a run to reclaim it"
    );
    let out = run(&["--", "sh", "-c", "ip -4 -o addr show dev eth0"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains(&format!("inet {ip}/24")),
        "the freed address is the lowest again: {}",
        common::stdout(&out)
    );
    assert_nothing_left("after the next run");
}

/// Bad input: one sentence, a non-zero exit, nothing made (no veth, no lease, no state
/// dir).
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn bad_network_input_is_one_sentence_and_leaves_nothing() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    // A host port in use: held by this test.
    let taken = TcpListener::bind("0.0.0.0:0").expect("a free port");
    let port = taken.local_addr().expect("addr").port().to_string();
    let in_use = format!("{port}:80");
    // A subnet that overlaps a route of the host: a device of the test's own (a bridge:
    // this kernel has no dummy driver) with its own route.
    tidy.devices.push("wbtdummy".into());
    for args in [
        vec!["link", "add", "wbtdummy", "type", "bridge"],
        vec!["addr", "add", "10.250.0.1/24", "dev", "wbtdummy"],
        vec!["link", "set", "wbtdummy", "up"],
    ] {
        let out = Command::new("ip").args(&args).output().expect("ip");
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            common::stderr(&out)
        );
    }
    tidy.devices.push("wbt1".into());
    let cases: [(&[&str], i32, &str); 7] = [
        (
            &["-p", "0:80", "--", "true"],
            2,
            "a port is a number from 1 to 65535",
        ),
        (
            &["-p", "80", "--", "true"],
            2,
            "is not HOSTPORT:CONTAINERPORT",
        ),
        (&["-p", &in_use, "--", "true"], 125, "is already in use"),
        (
            &["--network", "wifi", "--", "true"],
            2,
            "is not one of none, bridge or host",
        ),
        (
            &[
                "--bridge",
                "wbt1",
                "--subnet",
                "10.250.0.1/24",
                "--",
                "true",
            ],
            125,
            "overlaps the host's route to 10.250.0.0/24 on wbtdummy",
        ),
        (
            &["--network", "none", "-p", "8080:80", "--", "true"],
            125,
            "use --network bridge",
        ),
        (
            &["--subnet", "10.203.0.0/24", "--", "true"],
            2,
            "names its network",
        ),
    ];
    let state_before = common::container_states();
    for (args, code, message) in cases {
        let out = run(args);
        let err = common::stderr(&out);
        common::assert_refused(&out, args, code, message);
        if code == 125 {
            assert_eq!(err.lines().count(), 1, "one sentence: {err}");
        }
        assert_nothing_left(&format!("{args:?}"));
    }
    assert!(
        !Path::new("/sys/class/net/wbt1").exists(),
        "no bridge made for an overlapping subnet"
    );
    // An exhausted subnet: a /30 has room for the bridge and one container.
    let small = ["--bridge", "wbt1", "--subnet", "10.209.0.1/30"];
    let mut first = small.to_vec();
    first.extend(["--name", "net-only", "--", "sh", "-c", "echo ready; read _"]);
    let i = tidy.start(&first);
    let mut second = small.to_vec();
    second.extend(["--", "true"]);
    let out = run(&second);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert_eq!(
        err.trim(),
        "07-full-container: no free address is left in the subnet 10.209.0.0/30 of wbt1 (all 1 in use); stop a container, or use a larger --subnet"
    );
    assert_eq!(
        bridge_ports("wbt1").len(),
        1,
        "the refused run made no veth"
    );
    tidy.stop(i);
    assert!(
        common::container_states() <= state_before,
        "bad input left state behind"
    );
    assert_nothing_left("after bad input");
    drop(taken);
}

/// A runtime that panics with a running container (WORKBOOK_PANIC_AFTER_START) still stops
/// its proxy and gives back its veth, lease and NAT rule as the stack unwinds.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_panicking_runtime_unplugs_the_container() {
    if !privileged!() {
        return;
    }
    let _tidy = Tidy::new();
    let out = Command::new(BIN)
        .args(["run", "--nat", "-p", "18082:80", "--", "sleep", "30"])
        .env("WORKBOOK_PANIC_AFTER_START", "1")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(101), "{}", common::stderr(&out));
    assert!(
        TcpListener::bind(("0.0.0.0", 18082)).is_ok(),
        "the port is free"
    );
    assert_nothing_left("after a panic");
}

/// A port that nothing on the host listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One HTTP/1.0 GET through the proxy on 127.0.0.1:`port`: the whole reply, or why not.
fn http_get(port: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).map_err(|e| e.to_string())?;
    Ok(reply)
}

/// How many descriptors process `pid` holds (its threads share one table).
fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the runtime's fd table")
        .count()
}

/// The attack: open connection after connection to a published port. Each one used to leave
/// two descriptors in the proxy for good (the clones kept to shut it down), so enough of
/// them would take the runtime to its RLIMIT_NOFILE, and its ports — every container's —
/// would stop answering. After 2,000 connections, each answered by busybox httpd inside,
/// the runtime holds no more descriptors than before, give or take one connection still
/// closing.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_port_proxy_holds_no_descriptor_of_a_finished_connection() {
    if !privileged!() {
        return;
    }
    const CONNECTIONS: usize = 2000;
    // A live connection costs the proxy two descriptors: the client's socket and the
    // server's. The tolerance is a few connections still closing when the count is read; a
    // leak of two per connection would be 2 * CONNECTIONS over it.
    const TOLERANCE: usize = 3 * 2;
    let mut tidy = Tidy::new();
    let port = free_port();
    let mapping = format!("{port}:80");
    let i = tidy.start(&[
        "--name",
        "net-fds",
        "-p",
        &mapping,
        "--",
        "sh",
        "-c",
        "mkdir -p /www && echo ok > /www/index.html && echo ready && exec httpd -f -p 80 -h /www",
    ]);
    let runtime = tidy.runtimes[i].id();
    let before = fd_count(runtime);
    // httpd starts a moment after `ready`: until it listens, the proxy closes each client.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !http_get(port).is_ok_and(|r| r.starts_with("HTTP/1.")) {
        assert!(Instant::now() < deadline, "no answer through the proxy");
        std::thread::sleep(Duration::from_millis(50));
    }
    for n in 0..CONNECTIONS {
        let reply = http_get(port).unwrap_or_else(|e| panic!("connection {n}: {e}"));
        assert!(
            reply.starts_with("HTTP/1.1 200 ") && reply.ends_with("\r\n\r\nok\n"),
            "connection {n}: {reply}"
        );
    }
    // The last connections' threads may still be closing: give the count time to settle.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let now = fd_count(runtime);
        if now <= before || Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "runtime descriptors: {before} before, {after} after {CONNECTIONS} connections"
    );
    assert!(
        after <= before + TOLERANCE,
        "the runtime held {before} descriptors before {CONNECTIONS} connections and {after} after"
    );
    tidy.stop(i);
    assert_nothing_left("after the connections");
}

/// Every path under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(dir).expect("below").display().to_string());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `--bridge lo`, and `--bridge` naming an existing device that is not a bridge (a veth of
/// the test's own): refused in one sentence with 125, and nothing is left in the state dir
/// — no lock file, no lease file, no directory — nor a lock file among the host's leases.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_device_that_is_not_a_bridge_is_refused_and_leaves_no_file() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    tidy.devices.push("wbtveth0".into());
    let out = Command::new("ip")
        .args([
            "link", "add", "wbtveth0", "type", "veth", "peer", "name", "wbtveth1",
        ])
        .output()
        .expect("ip");
    assert!(
        out.status.success(),
        "ip link add: {}",
        common::stderr(&out)
    );
    for device in ["lo", "wbtveth0"] {
        let state = tempfile::tempdir().expect("a temp dir");
        let args = ["run", "--bridge", device, "--", "true"];
        let out = Command::new(BIN)
            .args(args)
            .env("WORKBOOK_STATE", state.path())
            .output()
            .expect("run");
        common::assert_refused(
            &out,
            &args,
            125,
            &format!("the host already has a device named {device} that is not a bridge"),
        );
        let err = common::stderr(&out);
        assert_eq!(err.lines().count(), 1, "one sentence: {err}");
        assert_eq!(
            tree(state.path()),
            Vec::<String>::new(),
            "--bridge {device} left files in its state dir"
        );
        let lock = Path::new(workbook::container::network::attach::LEASE_DIR)
            .join(format!("{device}.lock"));
        assert!(!lock.exists(), "--bridge {device} left {}", lock.display());
    }
    assert_nothing_left("after refused bridges");
}

/// Two runs with different state roots (`WORKBOOK_STATE`) share the host's bridge, so they
/// share its leases: the second gets another address, and the first keeps its veth. (With a
/// lease file per state root both got 10.203.0.2, and the second deleted the first's veth
/// as a leftover.)
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn runs_with_different_state_roots_get_different_addresses() {
    if !privileged!() {
        return;
    }
    let mut tidy = Tidy::new();
    let a = tidy.start(&[
        "--name",
        "net-root-a",
        "--",
        "sh",
        "-c",
        "echo ready; read _",
    ]);
    let ip_a = address_of("net-root-a");
    let veth_a = format!("wbv{:08x}", u32::from(ip_a));
    let state = tempfile::tempdir().expect("a temp dir");
    let out = Command::new(BIN)
        .args(["run", "--", "sh", "-c", "ip -4 -o addr show dev eth0"])
        .env("WORKBOOK_STATE", state.path())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(text.contains("inet 10.203.0."), "{text}");
    assert!(
        !text.contains(&format!("inet {ip_a}/")),
        "the second run got the first one's address {ip_a}: {text}"
    );
    assert!(
        bridge_ports("wb0").contains(&veth_a),
        "the first run lost its veth {veth_a}: {:?}",
        bridge_ports("wb0")
    );
    tidy.stop(a);
    assert_nothing_left("after two state roots");
}

/// The host veths and lease lines of the test bridge `bridge` (veths by their address
/// prefix: `wbv0ad8…` for 10.216.x.x).
fn own_network(bridge: &str, veth_prefix: &str) -> (BTreeSet<String>, Vec<String>) {
    let veths = veths()
        .into_iter()
        .filter(|v| v.starts_with(veth_prefix))
        .collect();
    let path = Path::new(workbook::container::network::attach::LEASE_DIR)
        .join(format!("{bridge}.leases"));
    let leases = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (veths, leases)
}

/// Polls (at most 10 s) until the test bridge has neither a veth nor a lease left: the
/// kernel deletes a veth pair with the container's network namespace, in a work queue,
/// after the runtime has reported the status; the lease goes once the veth is gone.
fn wait_until_unplugged(bridge: &str, veth_prefix: &str, context: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (veths, leases) = own_network(bridge, veth_prefix);
        if veths.is_empty() && leases.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{context}: after 10 s the veths {veths:?} and leases {leases:?} are still there"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A lease whose runtime is dead but whose veth still exists (the kernel has not let go of
/// it yet, or something holds the namespace) is not given to the next run: that run gets
/// the next address and leaves the veth alone. Once the veth is gone, the next run reclaims
/// the lease and gets its address. After each run, its own veth and lease are gone within a
/// bounded poll, with no other run needed.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_stale_lease_is_reclaimed_only_once_its_veth_is_gone() {
    if !privileged!() {
        return;
    }
    const BRIDGE: &str = "wbt16";
    const GHOST: &str = "wbv0ad80002"; // the host end for 10.216.0.2
    let mut tidy = Tidy::new();
    tidy.devices.extend([BRIDGE.to_string(), GHOST.to_string()]);
    struct LeaseFiles;
    impl Drop for LeaseFiles {
        fn drop(&mut self) {
            for ext in ["leases", "lock"] {
                let dir = Path::new(workbook::container::network::attach::LEASE_DIR);
                let _ = std::fs::remove_file(dir.join(format!("{BRIDGE}.{ext}")));
            }
        }
    }
    let _files = LeaseFiles;
    let net = ["--bridge", BRIDGE, "--subnet", "10.216.0.1/24"];
    let address = |extra: &[&str]| {
        let mut args = net.to_vec();
        args.extend(extra);
        args.extend(["--", "sh", "-c", "ip -4 -o addr show dev eth0"]);
        let out = run(&args);
        assert!(out.status.success(), "{}", common::stderr(&out));
        common::stdout(&out)
    };
    // The bridge exists after a first run, which leaves nothing.
    assert!(address(&[]).contains("inet 10.216.0.2/24"));
    wait_until_unplugged(BRIDGE, "wbv0ad8", "after the first run");

    // A dead run's lease of 10.216.0.2 whose veth is still on the host.
    let out = Command::new("ip")
        .args([
            "link",
            "add",
            GHOST,
            "type",
            "veth",
            "peer",
            "name",
            "wbt16peer",
        ])
        .output()
        .expect("ip");
    assert!(out.status.success(), "{}", common::stderr(&out));
    std::fs::create_dir_all(workbook::container::network::attach::LEASE_DIR)
        .expect("lease dir");
    let leases = Path::new(workbook::container::network::attach::LEASE_DIR)
        .join(format!("{BRIDGE}.leases"));
    std::fs::write(&leases, format!("10.216.0.2 0 0 ghost {GHOST} -\n")).expect("lease");
    let text = address(&[]);
    assert!(
        text.contains("inet 10.216.0.3/24"),
        "a run took the address of a lease whose veth is still there: {text}"
    );
    assert!(
        Path::new("/sys/class/net").join(GHOST).exists(),
        "a run deleted the veth {GHOST} of a stale lease"
    );
    let (_, left) = own_network(BRIDGE, "wbv0ad8");
    assert!(
        left.iter().any(|l| l.contains(GHOST)),
        "the stale lease went while its veth is there: {left:?}"
    );

    // The kernel lets go of the veth: the next run reclaims the lease and its address.
    let out = Command::new("ip")
        .args(["link", "del", GHOST])
        .output()
        .expect("ip");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = address(&[]);
    assert!(
        text.contains("inet 10.216.0.2/24"),
        "the reclaimed address is the lowest again: {text}"
    );
    wait_until_unplugged(BRIDGE, "wbv0ad8", "after the reclaiming run");
}
