//! Published ports: a small TCP proxy in the runtime, from a host port to the container.
//!
//! `-p 18080:80` makes the runtime listen on port 18080 of every host address (127.0.0.1
//! included) and, for each connection, open one to the container's address on port 80 and
//! copy bytes both ways. Docker does the same with its `docker-proxy` for 127.0.0.1, and
//! otherwise with DNAT rules: the kernel rewrites the destination of incoming packets
//! (`-t nat -A PREROUTING -p tcp --dport 18080 -j DNAT --to 10.203.0.2:80`, and the same in
//! OUTPUT for the host's own connections), which copies nothing in user space but cannot
//! rewrite packets to 127.0.0.1 without `route_localnet`. The book compares the two.
//!
//! Threads, not a poll loop: the runtime's main thread waits for the container in
//! sigwait(2) (it must forward signals), so the proxy gets threads of its own — one
//! accepting per port, two copying per connection. A connection's sockets are closed when
//! both its copying threads are done: anyone who can reach the port can open connections,
//! and each one that the proxy kept would cost the runtime descriptors for good, until
//! accept(2) fails with EMFILE and no published port answers any more. They start only
//! after the clone: clone(2) must happen while the process has a single thread (a thread
//! holding a lock at that moment would leave it locked forever in the child). The signals
//! the runtime handles are blocked before the threads start, so the threads inherit the
//! mask and every signal still reaches sigwait.

use std::collections::HashMap;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Error, Result};

/// `HOSTPORT:CONTAINERPORT[/tcp]`, parsed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    pub host: u16,
    pub container: u16,
}

impl FromStr for PortMapping {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (ports, proto) = s.split_once('/').unwrap_or((s, "tcp"));
        if proto != "tcp" {
            return Err(format!(
                "the port mapping {s:?} asks for {proto}: only tcp ports can be published"
            ));
        }
        let (host, container) = ports.split_once(':').ok_or_else(|| {
            format!("the port mapping {s:?} is not HOSTPORT:CONTAINERPORT, like 8080:80")
        })?;
        let port = |p: &str| -> std::result::Result<u16, String> {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!(
                    "the port mapping {s:?} has the port {p:?}: a port is a number from 1 to 65535"
                )),
            }
        };
        Ok(PortMapping {
            host: port(host)?,
            container: port(container)?,
        })
    }
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/tcp", self.host, self.container)
    }
}

/// Host ports bound before anything else is made, so that a port in use is refused at once.
#[derive(Debug)]
pub struct Bound {
    listeners: Vec<(TcpListener, PortMapping)>,
}

/// Binds every host port of `mappings` on all host addresses.
pub fn bind(mappings: &[PortMapping]) -> Result<Bound> {
    let mut listeners = Vec::new();
    for (i, m) in mappings.iter().enumerate() {
        if mappings[..i].iter().any(|o| o.host == m.host) {
            return Err(Error::Invalid(format!(
                "the host port {} is published twice; give each -p its own host port",
                m.host
            )));
        }
        let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, m.host))
            .map_err(|e| {
                if e.kind() == ErrorKind::AddrInUse {
                    Error::Invalid(format!(
                        "the host port {} is already in use; choose another for -p {m}",
                        m.host
                    ))
                } else {
                    Error::io(
                        format!("listening on host port {}", m.host),
                        std::path::Path::new("0.0.0.0"),
                        e,
                    )
                }
            })?;
        listeners.push((listener, *m));
    }
    Ok(Bound { listeners })
}

/// The connections being copied, by number: what [`Proxy`]'s drop shuts down. Each entry is
/// removed (and its sockets closed) when the connection ends.
type Connections = Arc<Mutex<HashMap<u64, [Arc<TcpStream>; 2]>>>;

/// A running proxy. Dropping it closes the ports and every connection, and joins the
/// threads that accept (the copying threads end as their connections are shut down).
pub struct Proxy {
    stop: Arc<AtomicBool>,
    listeners: Vec<Arc<TcpListener>>,
    accepting: Vec<JoinHandle<()>>,
    connections: Connections,
}

/// Stack of a copying thread: its 16 KiB buffer and little else (the default is 2 MiB).
const COPY_STACK: usize = 64 * 1024;

impl Bound {
    /// Starts forwarding every port to `target` (the container's address).
    pub fn start(self, target: Ipv4Addr) -> Result<Proxy> {
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Connections = Arc::default();
        let mut proxy = Proxy {
            stop: stop.clone(),
            listeners: Vec::new(),
            accepting: Vec::new(),
            connections: connections.clone(),
        };
        for (listener, m) in self.listeners {
            let listener = Arc::new(listener);
            proxy.listeners.push(listener.clone());
            let (stop, connections) = (stop.clone(), connections.clone());
            let to = SocketAddrV4::new(target, m.container);
            let thread = std::thread::Builder::new()
                .name(format!("proxy-{}", m.host))
                .spawn(move || accept_loop(&listener, to, &stop, &connections))
                .map_err(|e| Error::io_no_path("starting the port proxy", e))?;
            proxy.accepting.push(thread);
        }
        Ok(proxy)
    }
}

fn accept_loop(
    listener: &TcpListener,
    to: SocketAddrV4,
    stop: &AtomicBool,
    connections: &Connections,
) {
    let mut next: u64 = 0;
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else {
            // Out of descriptors, or a connection reset before it was accepted: try again
            // a moment later rather than spin.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        // The container may not listen yet, or at all: then the client's connection is
        // closed, as a closed port would close it.
        let Ok(server) = TcpStream::connect_timeout(&to.into(), Duration::from_secs(5))
        else {
            continue;
        };
        next += 1;
        serve(next, client, server, connections);
    }
}

/// A connection's place in the list. When both copying threads have let go of it, it takes
/// the connection out of the list, which closes both sockets.
struct Registration {
    id: u64,
    connections: Connections,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut list) = self.connections.lock() {
            list.remove(&self.id);
        }
    }
}

/// Copies connection `id` both ways on two threads, and forgets it when both are done.
/// (`&TcpStream` reads and writes, so the threads share the two sockets instead of holding
/// duplicated descriptors.)
fn serve(id: u64, client: TcpStream, server: TcpStream, connections: &Connections) {
    let (client, server) = (Arc::new(client), Arc::new(server));
    match connections.lock() {
        Ok(mut list) => list.insert(id, [client.clone(), server.clone()]),
        Err(_) => return,
    };
    let registration = Arc::new(Registration {
        id,
        connections: connections.clone(),
    });
    let (c2, s2, r2) = (client.clone(), server.clone(), registration.clone());
    let forward = spawn_copy(move || {
        copy(&client, &server);
        drop(registration);
    });
    let back = forward.and_then(|_| {
        spawn_copy(move || {
            copy(&s2, &c2);
            drop(r2);
        })
    });
    if back.is_err() {
        // No thread for a direction (the thread limit): give the connection up. Shutting it
        // down ends the thread that did start; the last registration dropped closes it.
        if let Ok(list) = connections.lock() {
            for s in list.get(&id).into_iter().flatten() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

fn spawn_copy(f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("proxy-copy".into())
        .stack_size(COPY_STACK)
        .spawn(f)
}

/// Copies one direction until its end closes, then passes the close on (a half close: the
/// other direction may still be sending).
fn copy(mut from: &TcpStream, mut to: &TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // shutdown(2) on a listening socket wakes the thread blocked in accept(2).
        for l in &self.listeners {
            // SAFETY: shutdown on a descriptor this proxy owns (the Arc keeps it open).
            unsafe { libc::shutdown(l.as_raw_fd(), libc::SHUT_RDWR) };
        }
        for t in self.accepting.drain(..) {
            let _ = t.join();
        }
        if let Ok(list) = self.connections.lock() {
            for s in list.values().flatten() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mappings() {
        assert_eq!(
            "18080:80".parse(),
            Ok(PortMapping {
                host: 18080,
                container: 80
            })
        );
        assert_eq!(
            "1:2/tcp".parse(),
            Ok(PortMapping {
                host: 1,
                container: 2
            })
        );
        for bad in [
            "80",
            "0:80",
            "80:0",
            "70000:80",
            "a:80",
            "80:80/udp",
            ":80",
            "80:",
        ] {
            assert!(bad.parse::<PortMapping>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwards_both_ways_and_stops() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = server.accept().unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            s.write_all(text.to_uppercase().as_bytes()).unwrap();
        });
        let free = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let proxy = bind(&[PortMapping {
            host: free,
            container: port,
        }])
        .unwrap()
        .start(Ipv4Addr::LOCALHOST)
        .unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", free)).unwrap();
        c.write_all(b"hello").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        assert_eq!(back, "HELLO");
        echo.join().unwrap();
        drop(proxy);
        assert!(
            TcpStream::connect(("127.0.0.1", free)).is_err(),
            "the port is closed"
        );
    }

    #[test]
    fn a_port_in_use_is_one_sentence() {
        let taken = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind(&[PortMapping {
            host: port,
            container: 80,
        }])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the host port {port} is already in use; choose another for -p {port}:80/tcp")
        );
    }
}
