//! The config.json a hand-made bundle starts from: the skeleton of `runc spec`'s, cut to
//! what every test needs (root, the program, /proc and a tmpfs /dev, the pid, ipc, uts and
//! mount namespaces, a cgroup of the test's own). Each test file adds what it is about:
//! capabilities, a network namespace, limits, a profile.

use serde_json::{json, Value};

/// `args` as root in a config close to `runc spec`'s, in the cgroup `cgroups_path`.
pub fn runc_spec(args: &[&str], cgroups_path: &str) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
        }
    })
}

/// The bounding, effective and permitted sets: `caps`.
pub fn set_capabilities<S: AsRef<str>>(config: &mut Value, caps: &[S]) {
    let caps: Vec<&str> = caps.iter().map(AsRef::as_ref).collect();
    config["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
}

/// A namespace of kind `kind` of the container's own, besides the skeleton's.
pub fn add_namespace(config: &mut Value, kind: &str) {
    if let Some(list) = config["linux"]["namespaces"].as_array_mut() {
        list.push(json!({"type": kind}));
    }
}

/// Another mount after the skeleton's.
pub fn add_mount(config: &mut Value, mount: Value) {
    if let Some(list) = config["mounts"].as_array_mut() {
        list.push(mount);
    }
}
