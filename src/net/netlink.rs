//! A blocking rtnetlink socket: send one request, read the kernel's answer.
//!
//! `ip link`, `ip addr` and `ip route` are thin clients of this protocol (rtnetlink(7)):
//! each request is a `struct nlmsghdr` followed by a family header (`ifinfomsg`,
//! `ifaddrmsg`, `rtmsg`) and attributes. The kernel answers every request that asks for it
//! (NLM_F_ACK) with an `NLMSG_ERROR` message whose code is 0 for success or a negative
//! errno; a dump (NLM_F_DUMP) is answered with many messages ended by `NLMSG_DONE`.
//!
//! The crates `netlink-packet-route` (the message types) and `netlink-sys` (the socket) do
//! the byte layout; no async runtime is involved: a request is one `send` and a few
//! `recv`s. A socket belongs to the network namespace its creator was in when it made it,
//! and keeps it: that is how the runtime configures a container's namespace from outside
//! ([`super::netns::socket_in`]).

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;

use crate::{Error, Result};

/// An rtnetlink socket of one network namespace.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| {
            Error::sys(
                "socket(AF_NETLINK)",
                "opening an rtnetlink socket",
                io_errno(&e),
            )
        })?;
        socket.bind_auto().map_err(|e| {
            Error::sys("bind", "binding the rtnetlink socket", io_errno(&e))
        })?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(|e| {
            Error::sys(
                "connect",
                "connecting to the kernel's rtnetlink",
                io_errno(&e),
            )
        })?;
        Ok(Netlink {
            socket,
            sequence: 0,
        })
    }

    /// Sends `message` with `flags` (plus REQUEST and ACK) and waits for the kernel's ack.
    /// `what` says what the request does, for the error.
    pub fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<()> {
        self.exchange(message, flags, what).map(drop)
    }

    /// Asks for one object (a device by name, say): the kernel's answer, which a missing
    /// object turns into an error (ENODEV for a device). Unlike a dump, this is one lookup
    /// in the kernel, never an answer pieced together while other processes change the
    /// table.
    pub fn get(
        &mut self,
        message: RouteNetlinkMessage,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.exchange(message, 0, what)
    }

    /// Sends a request with NLM_F_ACK and reads until its acknowledgement, keeping the
    /// messages that came before it (a get's answer). A datagram may hold no message of
    /// ours (it is read and skipped), so this reads on until the ack, however the kernel
    /// split it.
    fn exchange(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(message, NLM_F_REQUEST | NLM_F_ACK | flags, what)?;
        let mut answer = Vec::new();
        loop {
            for reply in self.receive(seq, what)? {
                match reply.payload {
                    NetlinkPayload::InnerMessage(m) => answer.push(m),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(answer),
                            Some(code) => Err(Error::sys(
                                "netlink",
                                what.to_string(),
                                Errno::from_raw(-code.get()),
                            )),
                        };
                    }
                    _ => {}
                }
            }
        }
    }

    /// Asks the kernel to make something that must not exist yet (NLM_F_CREATE |
    /// NLM_F_EXCL).
    pub fn create(&mut self, message: RouteNetlinkMessage, what: &str) -> Result<()> {
        self.request(message, NLM_F_CREATE | NLM_F_EXCL, what)
    }

    /// The same, where finding it made already is fine: returns whether it was made now.
    pub fn create_unless_present(
        &mut self,
        message: RouteNetlinkMessage,
        what: &str,
    ) -> Result<bool> {
        match self.create(message, what) {
            Ok(()) => Ok(true),
            Err(Error::Sys {
                errno: Errno::EEXIST,
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sends a dump request and collects every message of the answer.
    ///
    /// Trap: a dump is read in several datagrams, and the kernel fills each one as it is
    /// read. If another process adds or deletes a device meanwhile (20 containers starting
    /// at once), the answer may miss an entry or hold one twice; the kernel then marks it
    /// NLM_F_DUMP_INTR, and the only remedy is to ask again (as libnl does).
    pub fn dump(
        &mut self,
        message: RouteNetlinkMessage,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        const TRIES: u32 = 10;
        for _ in 0..TRIES {
            let (out, interrupted) = self.dump_once(message.clone(), what)?;
            if !interrupted {
                return Ok(out);
            }
        }
        Err(Error::Invalid(format!(
            "{what}: the table kept changing during {TRIES} readings of it (NLM_F_DUMP_INTR); try again"
        )))
    }

    /// One dump; returns the messages and whether the kernel marked the dump interrupted.
    fn dump_once(
        &mut self,
        message: RouteNetlinkMessage,
        what: &str,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool)> {
        let seq = self.send(message, NLM_F_REQUEST | NLM_F_DUMP, what)?;
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            for reply in self.receive(seq, what)? {
                interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
                match reply.payload {
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    NetlinkPayload::Done(_) => return Ok((out, interrupted)),
                    NetlinkPayload::Error(e) => {
                        let errno = Errno::from_raw(-e.code.map_or(0, |c| c.get()));
                        return Err(Error::sys("netlink", what.to_string(), errno));
                    }
                    _ => {}
                }
            }
        }
    }

    fn send(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<u32> {
        self.sequence += 1;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket
            .send(&buf, 0)
            .map_err(|e| Error::sys("send", format!("{what} (sending)"), io_errno(&e)))?;
        Ok(self.sequence)
    }

    /// Reads one datagram (it may hold several messages) and keeps those answering `seq`.
    fn receive(
        &mut self,
        seq: u32,
        what: &str,
    ) -> Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        let (buf, _) = self.socket.recv_from_full().map_err(|e| {
            Error::sys("recv", format!("{what} (reading the answer)"), io_errno(&e))
        })?;
        let mut messages = Vec::new();
        let mut rest = &buf[..];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if len < 16 || len > rest.len() {
                break;
            }
            let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len])
                .map_err(|e| {
                    Error::Invalid(format!(
                        "{what}: an answer of the kernel could not be read: {e}"
                    ))
                })?;
            if message.header.sequence_number == seq {
                messages.push(message);
            }
            // Messages are padded to 4 bytes.
            rest = &rest[((len + 3) & !3).min(rest.len())..];
        }
        Ok(messages)
    }
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}
