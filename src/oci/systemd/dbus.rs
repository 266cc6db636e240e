//! A small blocking D-Bus client: enough to call systemd's manager on the system bus.
//!
//! D-Bus is a byte protocol over a Unix socket: a line-based handshake (`AUTH EXTERNAL`,
//! the caller's uid in hex; the bus checks it against the socket's peer credentials), then
//! messages. A message is a 12-byte header (endianness `l`, type, flags, version 1, body
//! length, serial), an array of header fields `a(yv)` (path, interface, member,
//! destination, signature…), padding to 8, and the body. Every value is aligned to its
//! own size from the start of the message (structs to 8); an array carries its length in
//! bytes; a variant carries its signature. Written here rather than taken from a crate:
//! `zbus` brings an async runtime, `dbus` needs libdbus.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::{Error, Result};

pub const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// A value to marshal. `Struct` and `Array` hold their elements; an array also holds
/// the signature of its element type (an empty array must still name it).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    U32(u32),
    U64(u64),
    Str(String),
    Path(String),
    Variant(Box<Value>),
    Array(String, Vec<Value>),
    Struct(Vec<Value>),
}

impl Value {
    /// The value's D-Bus type signature.
    pub fn signature(&self) -> String {
        match self {
            Value::Bool(_) => "b".into(),
            Value::U32(_) => "u".into(),
            Value::U64(_) => "t".into(),
            Value::Str(_) => "s".into(),
            Value::Path(_) => "o".into(),
            Value::Variant(_) => "v".into(),
            Value::Array(element, _) => format!("a{element}"),
            Value::Struct(fields) => {
                let inner: String = fields.iter().map(Value::signature).collect();
                format!("({inner})")
            }
        }
    }
}

/// The alignment of the type whose signature starts with `c`.
fn alignment(c: u8) -> usize {
    match c {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b't' | b'x' | b'd' | b'(' | b'{' => 8,
        _ => 4,
    }
}

/// Marshals little-endian values into one buffer; offsets count from the message start.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, align: usize) {
        while self.buf.len() % align != 0 {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::U32(n) => self.u32(*n),
            Value::U64(n) => {
                self.pad(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::Str(s) | Value::Path(s) => {
                self.u32(s.len() as u32);
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.push(0);
            }
            Value::Variant(inner) => {
                self.sig(&inner.signature());
                self.value(inner);
            }
            Value::Array(element, items) => {
                self.u32(0);
                let len_at = self.buf.len() - 4;
                // The padding before the first element is not counted in the length.
                self.pad(alignment(element.as_bytes()[0]));
                let start = self.buf.len();
                for item in items {
                    self.value(item);
                }
                let len = (self.buf.len() - start) as u32;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.value(f);
                }
            }
        }
    }
}

/// A method call: destination, object path, interface, member and arguments.
pub struct Call<'a> {
    pub destination: &'a str,
    pub path: &'a str,
    pub interface: &'a str,
    pub member: &'a str,
    pub args: Vec<Value>,
}

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
const SIGNAL: u8 = 4;

impl Call<'_> {
    /// The whole message with serial `serial`.
    pub fn encode(&self, serial: u32) -> Vec<u8> {
        let mut body = Writer::default();
        for a in &self.args {
            body.value(a);
        }
        let signature: String = self.args.iter().map(Value::signature).collect();
        let mut w = Writer::default();
        w.buf.extend_from_slice(&[b'l', METHOD_CALL, 0, 1]);
        w.u32(body.buf.len() as u32);
        w.u32(serial);
        // The header fields, a(yv), by hand: their codes are bytes and the signature
        // field's value is a `g`, types that no other message here needs.
        w.u32(0);
        let len_at = w.buf.len() - 4;
        w.pad(8);
        let start = w.buf.len();
        for (code, v) in self.header_fields(&signature) {
            w.pad(8);
            w.buf.push(code);
            match v {
                Field::Sig(s) => {
                    w.sig("g");
                    w.sig(&s);
                }
                Field::Val(v) => {
                    w.sig(&v.signature());
                    w.value(&v);
                }
            }
        }
        let len = (w.buf.len() - start) as u32;
        w.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        w.pad(8);
        w.buf.extend_from_slice(&body.buf);
        w.buf
    }

    fn header_fields(&self, signature: &str) -> Vec<(u8, Field)> {
        let mut f = vec![
            (1, Field::Val(Value::Path(self.path.into()))),
            (6, Field::Val(Value::Str(self.destination.into()))),
            (2, Field::Val(Value::Str(self.interface.into()))),
            (3, Field::Val(Value::Str(self.member.into()))),
        ];
        if !signature.is_empty() {
            f.push((8, Field::Sig(signature.into())));
        }
        f
    }
}

enum Field {
    Sig(String),
    Val(Value),
}

/// A message read from the bus: its type, the serial it answers, the error name of an
/// error, the member of a signal, and its body, unparsed (with the offset it starts at).
#[derive(Debug)]
pub struct Message {
    pub kind: u8,
    pub reply_serial: Option<u32>,
    pub error_name: Option<String>,
    pub member: Option<String>,
    pub signature: String,
    body: Vec<u8>,
}

/// Reads little-endian values from a message; `pos` counts from the message start, for
/// the alignment.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], pos: usize) -> Reader<'a> {
        Reader { buf, pos }
    }

    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos + n;
        let bytes = self.buf.get(self.pos..end).ok_or_else(short)?;
        self.pos = end;
        Ok(bytes)
    }

    pub fn u32(&mut self) -> Result<u32> {
        self.align(4);
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn string(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        let s = String::from_utf8_lossy(self.take(len)?).into_owned();
        self.take(1)?;
        Ok(s)
    }

    pub fn signature(&mut self) -> Result<String> {
        let len = self.take(1)?[0] as usize;
        let s = String::from_utf8_lossy(self.take(len)?).into_owned();
        self.take(1)?;
        Ok(s)
    }
}

fn short() -> Error {
    Error::Invalid("a D-Bus message from the system bus ended early".into())
}

/// Splits one whole message (header and body) as read from the socket.
pub fn parse(buf: &[u8]) -> Result<Message> {
    if buf.first() != Some(&b'l') {
        return Err(Error::Invalid(
            "the system bus sent a big-endian D-Bus message, which this client does not read".into(),
        ));
    }
    let mut r = Reader::new(buf, 4);
    let body_len = r.u32()? as usize;
    let _serial = r.u32()?;
    let fields_len = r.u32()? as usize;
    let fields_end = r.pos + fields_len;
    let mut m = Message {
        kind: buf[1],
        reply_serial: None,
        error_name: None,
        member: None,
        signature: String::new(),
        body: Vec::new(),
    };
    while r.pos < fields_end {
        r.align(8);
        let code = r.take(1)?[0];
        let sig = r.signature()?;
        match (code, sig.as_str()) {
            (5, "u") => m.reply_serial = Some(r.u32()?),
            (4, "s") => m.error_name = Some(r.string()?),
            (3, "s") => m.member = Some(r.string()?),
            (8, "g") => m.signature = r.signature()?,
            (_, "s" | "o") => drop(r.string()?),
            (_, "g") => drop(r.signature()?),
            (_, "u") => drop(r.u32()?),
            _ => {
                return Err(Error::Invalid(format!(
                    "the system bus sent a header field of type '{sig}'"
                )))
            }
        }
    }
    r.align(8);
    m.body = r.take(body_len)?.to_vec();
    Ok(m)
}

impl Message {
    /// A reader over the body (which starts 8-aligned, so alignment holds from 0).
    pub fn body(&self) -> Reader<'_> {
        Reader::new(&self.body, 0)
    }
}

/// A connection to the system bus, authenticated, with its unique name.
pub struct Bus {
    sock: UnixStream,
    serial: u32,
}

impl Bus {
    /// Connects to `path`, authenticates as this process's uid and says Hello.
    pub fn system(path: &str) -> Result<Bus> {
        let io = |what: &str, e: std::io::Error| {
            Error::Invalid(format!(
                "{what} the D-Bus system bus at {path} failed: {e} (is systemd running with dbus?)"
            ))
        };
        let mut sock = UnixStream::connect(path).map_err(|e| io("connecting to", e))?;
        sock.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| io("setting a timeout on", e))?;
        let uid = nix::unistd::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        // A nul byte first (it may carry credentials), then the line protocol.
        sock.write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())
            .map_err(|e| io("authenticating on", e))?;
        let line = read_line(&mut sock).map_err(|e| io("authenticating on", e))?;
        if !line.starts_with("OK ") {
            return Err(Error::Invalid(format!(
                "the D-Bus system bus at {path} refused this uid: it answered '{}'",
                line.trim()
            )));
        }
        sock.write_all(b"BEGIN\r\n")
            .map_err(|e| io("authenticating on", e))?;
        let mut bus = Bus { sock, serial: 0 };
        bus.call(&Call {
            destination: "org.freedesktop.DBus",
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member: "Hello",
            args: vec![],
        })?;
        Ok(bus)
    }

    /// Sends `call` and returns its reply; signals that arrive meanwhile go to `signals`.
    pub fn call_keeping(
        &mut self,
        call: &Call,
        signals: &mut Vec<Message>,
    ) -> Result<Message> {
        self.serial += 1;
        let serial = self.serial;
        self.sock
            .write_all(&call.encode(serial))
            .map_err(|e| Error::io_no_path("writing to the D-Bus system bus", e))?;
        loop {
            let m = self.read()?;
            match m.kind {
                METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(m),
                ERROR if m.reply_serial == Some(serial) => {
                    let name = m.error_name.clone().unwrap_or_default();
                    let text = if m.signature.starts_with('s') {
                        m.body().string().unwrap_or_default()
                    } else {
                        String::new()
                    };
                    return Err(Error::Invalid(format!(
                        "{}.{} failed: {name}: {text}",
                        call.interface, call.member
                    )));
                }
                SIGNAL => signals.push(m),
                _ => {}
            }
        }
    }

    pub fn call(&mut self, call: &Call) -> Result<Message> {
        self.call_keeping(call, &mut Vec::new())
    }

    /// The next message.
    pub fn read(&mut self) -> Result<Message> {
        let io = |e| Error::io_no_path("reading from the D-Bus system bus", e);
        let mut fixed = [0u8; 16];
        self.sock.read_exact(&mut fixed).map_err(io)?;
        let body_len =
            u32::from_le_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]) as usize;
        let fields_len =
            u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]) as usize;
        let total = (16 + fields_len).div_ceil(8) * 8 + body_len;
        let mut buf = fixed.to_vec();
        buf.resize(total, 0);
        self.sock.read_exact(&mut buf[16..]).map_err(io)?;
        parse(&buf)
    }
}

fn read_line(sock: &mut UnixStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        sock.read_exact(&mut byte)?;
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Hello`, byte by byte from the specification's rules: each header field 8-aligned,
    /// the field array's length without the padding after its last field, the header
    /// padded to 8 before the (empty) body.
    #[test]
    fn hello_bytes() {
        let m = Call {
            destination: "org.freedesktop.DBus",
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member: "Hello",
            args: vec![],
        }
        .encode(1);
        let mut want: Vec<u8> = b"l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00".to_vec();
        want.extend_from_slice(&110u32.to_le_bytes());
        want.extend_from_slice(
            b"\x01\x01o\x00\x15\x00\x00\x00/org/freedesktop/DBus\x00\x00\x00",
        );
        want.extend_from_slice(
            b"\x06\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00",
        );
        want.extend_from_slice(
            b"\x02\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00",
        );
        want.extend_from_slice(b"\x03\x01s\x00\x05\x00\x00\x00Hello\x00\x00\x00");
        assert_eq!(m, want);
    }

    /// An array of structs: its length excludes the padding to the first struct.
    #[test]
    fn array_of_structs() {
        let mut w = Writer::default();
        let prop = Value::Struct(vec![
            Value::Str("Delegate".into()),
            Value::Variant(Box::new(Value::Bool(true))),
        ]);
        w.value(&Value::Array("(sv)".into(), vec![prop]));
        let want = b"\x14\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00Delegate\x00\x01b\x00\x01\x00\x00\x00";
        assert_eq!(w.buf, want.to_vec());
        assert_eq!(Value::Array("(sv)".into(), vec![]).signature(), "a(sv)");
    }

    /// PIDs: a variant holding `au`, and a u64 after a string (padding to 8).
    #[test]
    fn variant_array_and_u64() {
        let mut w = Writer::default();
        w.value(&Value::Variant(Box::new(Value::Array(
            "u".into(),
            vec![Value::U32(7)],
        ))));
        assert_eq!(
            w.buf,
            b"\x02au\x00\x04\x00\x00\x00\x07\x00\x00\x00".to_vec()
        );
        let mut w = Writer::default();
        w.value(&Value::Str("a".into()));
        w.value(&Value::U64(1 << 32));
        assert_eq!(
            w.buf,
            b"\x01\x00\x00\x00a\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00".to_vec()
        );
    }

    #[test]
    fn parses_an_error_reply() {
        let mut w = Writer::default();
        w.buf.extend_from_slice(&[b'l', ERROR, 1, 1]);
        w.u32(12);
        w.u32(9);
        w.u32(0);
        let len_at = w.buf.len() - 4;
        let start = w.buf.len();
        w.pad(8);
        w.buf.extend_from_slice(&[5, 1, b'u', 0]);
        w.u32(3);
        w.pad(8);
        w.buf.extend_from_slice(&[4, 1, b's', 0]);
        w.value(&Value::Str("org.x.E".into()));
        w.pad(8);
        w.buf.extend_from_slice(&[8, 1, b'g', 0, 1, b's', 0]);
        let len = (w.buf.len() - start) as u32;
        w.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        w.pad(8);
        w.value(&Value::Str("no way".into()));
        // body: 4 + 6 + 1 = 11 bytes; the header said 12, so give one more byte.
        w.buf.push(0);
        let m = parse(&w.buf).unwrap();
        assert_eq!(m.kind, ERROR);
        assert_eq!(m.reply_serial, Some(3));
        assert_eq!(m.error_name.as_deref(), Some("org.x.E"));
        assert_eq!(m.body().string().unwrap(), "no way");
    }
}
