//! Privileged: exercise 02.2's flag. A segment key names one segment per IPC namespace;
//! IPC_EXCL makes shmget(2) refuse a key that is taken (EEXIST) instead of handing back the
//! segment someone else made, which is how a container would attach the host's memory if
//! it shared the namespace.

mod common;

use serial_test::serial;
use workbook::ipc::SharedMemory;

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(sysvipc)]
fn a_key_that_is_taken_is_refused_with_eexist() {
    if !privileged!() {
        return;
    }
    let key = 0x0b0c_e7c1;
    let first = SharedMemory::create(key).expect("create the first segment");
    let second = SharedMemory::create(key);
    match second {
        Err(workbook::Error::Sys {
            errno: nix::errno::Errno::EEXIST,
            ..
        }) => {}
        Err(e) => {
            panic!("a second segment under key {key:#x} failed, but not with EEXIST: {e}")
        }
        Ok(second) => {
            let same = second.id == first.id;
            // Dropping both removes the one segment twice: forget the second.
            std::mem::forget(second);
            panic!(
                "the kernel gave a second segment under key {key:#x} ({}) instead of \
                 refusing it with EEXIST: shmget needs IPC_EXCL with IPC_CREAT",
                if same {
                    "the first one's id: the caller would share another's memory"
                } else {
                    "a new id"
                }
            );
        }
    }
}
