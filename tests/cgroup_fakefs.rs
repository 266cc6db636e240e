//! The file writes each layout gets, against a fake cgroupfs in a temp dir (no root
//! needed), and layout detection.
//!
//! The fake imitates what the kernel does on `mkdir` in a cgroup filesystem: the new
//! directory appears with the control files of the controllers enabled for it. Files are
//! created empty, so after the library's writes each one holds exactly what was written.

use std::fs;
use std::path::{Path, PathBuf};

use rstest::rstest;
use workbook::cgroup::layout::{
    layout_from_magic, parse_mountinfo, parse_proc_cgroup, CGROUP2_SUPER_MAGIC,
    CGROUP_SUPER_MAGIC, TMPFS_MAGIC,
};
use workbook::cgroup::plan::Step;
use workbook::cgroup::{Cgroup, CgroupFs, DeviceAllowList, Layout, Limits};
use workbook::Error;

const SYSFS_MAGIC: i64 = 0x6265_6572;

/// A fake `/sys/fs/cgroup` of one of the three layouts, under a temp dir.
struct FakeCgroupFs {
    tmp: tempfile::TempDir,
    layout: Layout,
    /// Whether the kernel accounts swap (memsw / memory.swap.max files exist).
    swap: bool,
    /// The v2 controllers offered at the root.
    v2_controllers: &'static str,
}

impl FakeCgroupFs {
    fn new(layout: Layout) -> FakeCgroupFs {
        let fake = FakeCgroupFs {
            tmp: tempfile::tempdir().expect("temp dir"),
            layout,
            swap: true,
            v2_controllers: "cpuset cpu io memory hugetlb pids rdma misc",
        };
        fake.populate();
        fake
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().to_path_buf()
    }

    /// Roots of the hierarchies and the tool's own cgroups in them (as on the dev machine).
    fn populate(&self) {
        let r = self.root();
        match self.layout {
            Layout::Unified => {
                write(&r.join("cgroup.controllers"), self.v2_controllers);
                write(&r.join("cgroup.subtree_control"), "");
                write(&r.join("cgroup.procs"), "1\n");
                // The tool's own cgroup holds the tool: no internal processes allowed below
                // it.
                let own = r.join("user.slice/session-1.scope");
                fs::create_dir_all(&own).unwrap();
                write(&own.join("cgroup.procs"), "4242\n");
                write(&own.join("cgroup.subtree_control"), "");
            }
            Layout::Hybrid | Layout::Legacy => {
                for (dir, own) in self.v1_mounts() {
                    fs::create_dir_all(r.join(dir).join(&own[1..])).unwrap();
                }
                if self.layout == Layout::Hybrid {
                    fs::create_dir_all(r.join("unified")).unwrap();
                    write(&r.join("unified/cgroup.controllers"), "");
                }
            }
        }
    }

    /// (mount dir, own cgroup) of each v1 hierarchy: hybrid mounts cpu and cpuacct apart
    /// (as here), legacy together (as many distributions did).
    fn v1_mounts(&self) -> Vec<(&'static str, &'static str)> {
        match self.layout {
            Layout::Hybrid => vec![
                ("cpu", "/"),
                ("cpuacct", "/"),
                ("memory", "/process_api/abc"),
                ("pids", "/"),
                ("freezer", "/"),
                ("devices", "/"),
            ],
            _ => vec![
                ("cpu,cpuacct", "/user.slice"),
                ("memory", "/user.slice"),
                ("pids", "/user.slice/user-0.slice"),
            ],
        }
    }

    fn mountinfo(&self) -> String {
        let r = self.root();
        let r = r.display();
        let mut lines = vec![
            "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw".to_string(),
            format!("23 22 0:22 / {r} ro - tmpfs tmpfs ro,mode=755"),
        ];
        match self.layout {
            Layout::Unified => {
                lines = vec![format!(
                    "30 22 0:26 / {r} rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot"
                )]
            }
            _ => {
                for (i, (dir, _)) in self.v1_mounts().iter().enumerate() {
                    lines.push(format!(
                        "{} 23 0:{} / {r}/{dir} rw,relatime shared:{i} - cgroup cgroup rw,{dir}",
                        40 + i,
                        30 + i
                    ));
                }
                if self.layout == Layout::Hybrid {
                    lines.push(format!(
                        "39 23 0:29 / {r}/unified rw,relatime - cgroup2 cgroup2 rw"
                    ));
                }
            }
        }
        lines.join("\n") + "\n"
    }

    fn proc_cgroup(&self) -> String {
        match self.layout {
            Layout::Unified => "0::/user.slice/session-1.scope\n".into(),
            _ => {
                let mut lines: Vec<String> = self
                    .v1_mounts()
                    .iter()
                    .enumerate()
                    .map(|(i, (dir, own))| format!("{}:{dir}:{own}", i + 1))
                    .collect();
                lines.push("9:name=systemd:/".into());
                if self.layout == Layout::Hybrid {
                    lines.push("0::/".into());
                }
                lines.join("\n") + "\n"
            }
        }
    }

    fn cgroupfs(&self) -> CgroupFs {
        CgroupFs::from_tables(self.layout, &self.mountinfo(), &self.proc_cgroup())
            .expect("fake tables parse")
    }

    /// The kernel's `mkdir` on this fake: the directory and its control files.
    fn mkdir(&self, path: &Path) -> std::io::Result<()> {
        fs::create_dir(path)?;
        let mut files = vec!["cgroup.procs"];
        if self.layout == Layout::Unified {
            files.extend([
                "cgroup.controllers",
                "cgroup.subtree_control",
                "cgroup.events",
                "cgroup.kill",
            ]);
            // Controllers enabled for this directory: what the parent handed down.
            let handed =
                fs::read_to_string(path.parent().unwrap().join("cgroup.subtree_control"))
                    .unwrap_or_default();
            let has = |c: &str| {
                handed
                    .split_whitespace()
                    .any(|t| t.trim_start_matches('+') == c)
            };
            if has("memory") {
                files.extend([
                    "memory.max",
                    "memory.current",
                    "memory.peak",
                    "memory.events",
                ]);
                if self.swap {
                    files.push("memory.swap.max");
                }
            }
            if has("cpu") {
                files.extend(["cpu.max", "cpu.weight"]);
            }
            if has("pids") {
                files.extend(["pids.max", "pids.current", "pids.peak", "pids.events"]);
            }
            files.push("cpu.stat");
        } else {
            files.push("tasks");
            let rel = path
                .strip_prefix(self.root())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let mount = rel.split('/').next().unwrap().to_string();
            for c in mount.split(',') {
                match c {
                    "memory" => {
                        files.extend([
                            "memory.limit_in_bytes",
                            "memory.usage_in_bytes",
                            "memory.max_usage_in_bytes",
                            "memory.failcnt",
                            "memory.oom_control",
                        ]);
                        if self.swap {
                            files.push("memory.memsw.limit_in_bytes");
                        }
                    }
                    "cpu" => files.extend([
                        "cpu.cfs_period_us",
                        "cpu.cfs_quota_us",
                        "cpu.shares",
                        "cpu.stat",
                    ]),
                    "cpuacct" => files.push("cpuacct.usage"),
                    "pids" => files.extend([
                        "pids.max",
                        "pids.current",
                        "pids.peak",
                        "pids.events",
                    ]),
                    _ => {}
                }
            }
        }
        for f in files {
            fs::write(path.join(f), "")?;
        }
        Ok(())
    }

    /// Every directory below the fake root, relative, sorted.
    fn all_dirs(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in fs::read_dir(dir).unwrap().flatten() {
                if e.path().is_dir() {
                    out.push(e.path().strip_prefix(base).unwrap().display().to_string());
                    walk(base, &e.path(), out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.tmp.path(), self.tmp.path(), &mut out);
        out.sort();
        out
    }
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
}

fn all_limits() -> Limits {
    Limits {
        memory: Some("64M".parse().unwrap()),
        cpus: Some("0.5".parse().unwrap()),
        cpu_weight: Some("200".parse().unwrap()),
        pids: Some("64".parse().unwrap()),
        devices: None,
    }
}

/// What a control file is for, for the sentence of a check that finds the wrong text in it.
fn why(file: &str) -> &'static str {
    match file {
        "cpu.max" => {
            "v2 takes the CPU limit as \"QUOTA PERIOD\" in microseconds, in one write"
        }
        "memory.max" | "memory.limit_in_bytes" => "the memory limit is written in bytes",
        "memory.swap.max" => "0 forbids swap, where the file exists",
        "memory.memsw.limit_in_bytes" => "memory + swap at the memory limit forbids swap",
        "cpu.weight" => "v2's weight, 1 to 10000",
        "cpu.shares" => "v1's weight: shares",
        "cpu.cfs_period_us" | "cpu.cfs_quota_us" => {
            "v1 takes the period and the quota in two files"
        }
        "pids.max" => "the most tasks the cgroup may hold",
        "cgroup.procs" => {
            "a process joins a cgroup when its PID is written to cgroup.procs"
        }
        "cgroup.subtree_control" => {
            "controllers are enabled top-down, from the root to the parent"
        }
        _ => "see the chapter",
    }
}

/// Asserts a control file's text in one sentence: which file, what it holds, what it needs.
#[track_caller]
fn expect_file(path: &Path, want: &str) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let got = match fs::read_to_string(path) {
        Ok(text) => format!("holds {text:?}"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "is missing".to_string(),
        Err(e) => format!("cannot be read ({e})"),
    };
    assert!(
        got == format!("holds {want:?}"),
        "{name} {got}, not {want:?}: {}",
        why(&name)
    );
}

/// Makes a cgroup on the fake and returns its directories (the fake is removed with its
/// temp dir, so the guard is told to forget).
fn create(fake: &FakeCgroupFs, limits: &Limits) -> (String, Vec<PathBuf>) {
    let fs = fake.cgroupfs();
    let cg = Cgroup::create_in(&fs, "t", limits, &mut |p| fake.mkdir(p))
        .unwrap_or_else(|e| panic!("making the cgroup on a fake cgroupfs failed: {e}"));
    if let Err(e) = cg.attach(4321) {
        cg.forget();
        panic!("attaching PID 4321 to the cgroup failed: {e}");
    }
    let leaf = cg.leaf().to_string();
    (leaf, cg.forget())
}

#[test]
fn v2_enables_controllers_top_down_and_writes_v2_files() {
    let fake = FakeCgroupFs::new(Layout::Unified);
    let (leaf, dirs) = create(&fake, &all_limits());
    let root = fake.root();
    // At the root, not below the tool's own cgroup, which holds processes.
    assert_eq!(
        dirs,
        vec![root.join("workbook").join(&leaf)],
        "on v2 the cgroup is one directory, workbook/LEAF at the root"
    );
    let dir = &dirs[0];
    expect_file(&root.join("cgroup.subtree_control"), "+memory +cpu +pids");
    expect_file(
        &root.join("workbook/cgroup.subtree_control"),
        "+memory +cpu +pids",
    );
    expect_file(&dir.join("memory.max"), "67108864");
    expect_file(&dir.join("memory.swap.max"), "0");
    expect_file(&dir.join("cpu.max"), "50000 100000");
    expect_file(&dir.join("cpu.weight"), "200");
    expect_file(&dir.join("pids.max"), "64");
    expect_file(&dir.join("cgroup.procs"), "4321");
    // Nothing written into the tool's own cgroup.
    expect_file(
        &root.join("user.slice/session-1.scope/cgroup.subtree_control"),
        "",
    );
}

#[test]
fn v2_nests_below_its_own_cgroup_when_delegated_and_empty() {
    let fake = FakeCgroupFs::new(Layout::Unified);
    let own = fake.root().join("user.slice/session-1.scope");
    write(&own.join("cgroup.procs"), "");
    let (leaf, dirs) = create(&fake, &Limits::default());
    assert_eq!(dirs, vec![own.join("workbook").join(&leaf)]);
    expect_file(&own.join("cgroup.subtree_control"), "+memory +cpu +pids");
}

#[rstest]
#[case(Layout::Hybrid)]
#[case(Layout::Legacy)]
fn v1_makes_one_directory_per_hierarchy_below_its_own_cgroup(#[case] layout: Layout) {
    let fake = FakeCgroupFs::new(layout);
    let (leaf, dirs) = create(&fake, &all_limits());
    let root = fake.root();
    let expected: Vec<PathBuf> = fake
        .v1_mounts()
        .iter()
        .filter(|(dir, _)| *dir != "freezer" && *dir != "devices")
        .map(|(dir, own)| root.join(dir).join(&own[1..]).join("workbook").join(&leaf))
        .collect();
    assert_eq!(dirs, expected);
    for dir in &dirs {
        expect_file(&dir.join("cgroup.procs"), "4321");
    }
    let in_mount = |m: &str| dirs.iter().find(|d| d.starts_with(root.join(m))).unwrap();
    let mem = in_mount("memory");
    expect_file(&mem.join("memory.limit_in_bytes"), "67108864");
    expect_file(&mem.join("memory.memsw.limit_in_bytes"), "67108864");
    let cpu = in_mount(if layout == Layout::Hybrid {
        "cpu/"
    } else {
        "cpu,cpuacct"
    });
    expect_file(&cpu.join("cpu.cfs_period_us"), "100000");
    expect_file(&cpu.join("cpu.cfs_quota_us"), "50000");
    expect_file(&cpu.join("cpu.shares"), "2048");
    expect_file(&in_mount("pids").join("pids.max"), "64");
    // The hybrid layout's cgroup2 mount offers no controller: nothing is made there.
    assert!(!fake.all_dirs().iter().any(|d| d.starts_with("unified/")));
    assert!(!fake.all_dirs().iter().any(|d| d.starts_with("freezer/")));
    // No device list asked for (chapter 5): nothing in the devices hierarchy either.
    assert!(!fake.all_dirs().iter().any(|d| d.starts_with("devices/")));
}

fn with_devices() -> Limits {
    Limits {
        devices: Some(DeviceAllowList::docker_default()),
        ..Limits::default()
    }
}

#[test]
fn v1_denies_all_devices_then_allows_dockers_list_one_write_each() {
    let fake = FakeCgroupFs::new(Layout::Hybrid);
    let plan = Cgroup::plan(&fake.cgroupfs(), "leaf", &with_devices()).expect("plan");
    let dir = fake.root().join("devices/workbook/leaf");
    assert!(plan.dirs.contains(&dir), "{:?}", plan.dirs);
    let writes: Vec<(String, String)> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Write { file, value, .. } if file.starts_with(&dir) => Some((
                file.file_name().unwrap().to_string_lossy().into_owned(),
                value.clone(),
            )),
            _ => None,
        })
        .collect();
    let mut expected = vec![("devices.deny".to_string(), "a".to_string())];
    for rule in [
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 5:0 rwm",
        "c 5:1 rwm",
        "c 5:2 rwm",
        "c 136:* rwm",
        "c *:* m",
        "b *:* m",
    ] {
        expected.push(("devices.allow".to_string(), rule.to_string()));
    }
    assert_eq!(writes, expected);
    // The writes come after the directory is made.
    let made = plan
        .steps
        .iter()
        .position(|s| matches!(s, Step::Mkdir { path, .. } if *path == dir))
        .expect("mkdir of the devices dir");
    let first = plan
        .steps
        .iter()
        .position(|s| matches!(s, Step::Write { file, .. } if file.starts_with(&dir)))
        .expect("a write");
    assert!(made < first);
    assert!(!plan
        .steps
        .iter()
        .any(|s| matches!(s, Step::AttachDevices { .. })));
}

#[test]
fn v2_attaches_the_device_program_to_the_new_cgroup_before_anything_else_is_inside() {
    let fake = FakeCgroupFs::new(Layout::Unified);
    let plan = Cgroup::plan(&fake.cgroupfs(), "leaf", &with_devices()).expect("plan");
    let dir = fake.root().join("workbook/leaf");
    let made = plan
        .steps
        .iter()
        .position(|s| matches!(s, Step::Mkdir { path, .. } if *path == dir))
        .expect("mkdir of the leaf");
    assert_eq!(
        plan.steps.get(made + 1),
        Some(&Step::AttachDevices {
            dir: dir.clone(),
            list: DeviceAllowList::docker_default()
        })
    );
    // No v1 files on v2.
    assert!(!plan.steps.iter().any(
        |s| matches!(s, Step::Write { file, .. } if file.to_string_lossy().contains("devices."))
    ));
    // Without a list there is no program (chapter 5).
    let plain = Cgroup::plan(&fake.cgroupfs(), "leaf", &Limits::default()).expect("plan");
    assert!(!plain
        .steps
        .iter()
        .any(|s| matches!(s, Step::AttachDevices { .. })));
}

#[test]
fn a_device_list_without_the_v1_devices_controller_is_refused() {
    let fake = FakeCgroupFs::new(Layout::Legacy);
    let err = Cgroup::plan(&fake.cgroupfs(), "leaf", &with_devices()).expect_err("refused");
    let msg = err.to_string();
    assert!(msg.contains("'devices' controller"), "{msg}");
    assert!(!msg.contains('\n'));
}

#[rstest]
#[case(Layout::Unified)]
#[case(Layout::Hybrid)]
#[case(Layout::Legacy)]
fn swap_limits_are_skipped_where_the_kernel_has_no_file(#[case] layout: Layout) {
    let mut fake = FakeCgroupFs::new(layout);
    fake.swap = false;
    let limits = Limits {
        memory: Some("32M".parse().unwrap()),
        ..Limits::default()
    };
    let (_, dirs) = create(&fake, &limits);
    let mem = dirs
        .iter()
        .find(|d| d.join("memory.max").exists() || d.join("memory.limit_in_bytes").exists())
        .unwrap();
    assert!(
        !mem.join("memory.swap.max").exists()
            && !mem.join("memory.memsw.limit_in_bytes").exists(),
        "a swap limit file was made where the kernel has none: write it only where it exists \
         (Step::write_if_present)"
    );
}

#[rstest]
#[case(Layout::Unified)]
#[case(Layout::Hybrid)]
#[case(Layout::Legacy)]
fn a_limit_on_a_missing_controller_is_refused_before_anything_is_made(
    #[case] layout: Layout,
) {
    let mut fake = FakeCgroupFs::new(layout);
    fake.v2_controllers = "cpu memory";
    let cgfs = if layout == Layout::Unified {
        write(&fake.root().join("cgroup.controllers"), fake.v2_controllers);
        fake.cgroupfs()
    } else {
        // The machine has no pids hierarchy mounted.
        let mountinfo: String = fake
            .mountinfo()
            .lines()
            .filter(|l| !l.ends_with("rw,pids"))
            .map(|l| format!("{l}\n"))
            .collect();
        CgroupFs::from_tables(layout, &mountinfo, &fake.proc_cgroup()).unwrap()
    };
    let fs_before = fake.all_dirs();
    let limits = Limits {
        pids: Some("16".parse().unwrap()),
        ..Limits::default()
    };
    let err = Cgroup::create_in(&cgfs, "t", &limits, &mut |p| fake.mkdir(p))
        .expect_err("no pids");
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("--pids needs the cgroup") && msg.contains("'pids' controller"),
        "{msg}"
    );
    assert_eq!(fake.all_dirs(), fs_before, "nothing created");
}

#[rstest]
#[case(Layout::Unified)]
#[case(Layout::Hybrid)]
#[case(Layout::Legacy)]
fn usage_is_read_from_each_layouts_files(#[case] layout: Layout) {
    let fake = FakeCgroupFs::new(layout);
    let fs = fake.cgroupfs();
    let cg = Cgroup::create_in(&fs, "t", &all_limits(), &mut |p| fake.mkdir(p)).unwrap();
    // What the kernel would show after an OOM kill, in each interface's words.
    for dir in cg.dirs() {
        let put = |f: &str, t: &str| {
            if dir.join(f).exists() {
                write(&dir.join(f), t)
            }
        };
        put("memory.max", "33554432\n");
        put("memory.peak", "33554432\n");
        put(
            "memory.events",
            "low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\noom_group_kill 0\n",
        );
        put("cpu.stat", "usage_usec 200000\nuser_usec 1\nsystem_usec 2\nnr_periods 10\nnr_throttled 8\nthrottled_usec 700000\n");
        put("memory.limit_in_bytes", "33554432\n");
        put("memory.max_usage_in_bytes", "33554432\n");
        put("memory.failcnt", "40\n");
        put(
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        );
        put("cpuacct.usage", "200000000\n");
        if dir.join("cpu.cfs_quota_us").exists() {
            put(
                "cpu.stat",
                "nr_periods 10\nnr_throttled 8\nthrottled_time 700000000\n",
            );
        }
        put("pids.peak", "16\n");
        put("pids.max", "16\n");
        put("pids.events", "max 3\n");
    }
    let u = cg.usage();
    cg.forget();
    let read = [
        ("the memory limit", u.memory_limit, Some(32 << 20)),
        ("the memory peak", u.memory_peak, Some(32 << 20)),
        ("the OOM kills", u.oom_kills, Some(1)),
        (
            "the hits of the memory limit",
            u.memory_limit_hits,
            Some(40),
        ),
        ("the CPU time (µs)", u.cpu_usage_us, Some(200_000)),
        ("the CPU periods", u.cpu_periods, Some(10)),
        ("the throttled periods", u.cpu_throttled, Some(8)),
        ("the throttled time (µs)", u.cpu_throttled_us, Some(700_000)),
        ("the pids peak", u.pids_peak, Some(16)),
        ("the pids limit", u.pids_limit, Some(16)),
        ("the forks refused", u.pids_refused, Some(3)),
    ];
    for (what, got, want) in read {
        assert_eq!(
            got, want,
            "{what} read from the control files is {got:?}, not {want:?}: each is one number, \
             alone in its file or after its key on a \"KEY VALUE\" line"
        );
    }
    assert!(u
        .report()
        .contains("yes, 1 process(es) killed by the kernel at the limit of 32 MiB"));
}

#[rstest]
#[case(Layout::Unified)]
#[case(Layout::Hybrid)]
#[case(Layout::Legacy)]
fn stale_cgroups_of_dead_owners_are_removed_and_live_ones_kept(#[case] layout: Layout) {
    let fake = FakeCgroupFs::new(layout);
    let fs = fake.cgroupfs();
    // A pid that existed and is gone: a child that has been reaped.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let parents = workbook::cgroup::parents(&fs);
    for parent in &parents {
        // Empty directories stand for the leaves (a real one holds only kernel files).
        fs::create_dir_all(parent.join(format!("x.{dead}-1.0"))).unwrap();
        // Our pid with another start time: a dead owner whose pid was reused (by us).
        fs::create_dir_all(parent.join(format!("x.{}-1.0", std::process::id()))).unwrap();
        fs::create_dir_all(parent.join(format!("x.{}.0", workbook::owner::owner_tag())))
            .unwrap();
    }
    let mut removed = workbook::cgroup::cleanup_stale(&fs).unwrap();
    removed.sort();
    let mut stale = vec![
        format!("x.{dead}-1.0"),
        format!("x.{}-1.0", std::process::id()),
    ];
    stale.sort();
    assert_eq!(removed, stale);
    for parent in &parents {
        assert!(!parent.join(format!("x.{dead}-1.0")).exists());
        assert!(!parent
            .join(format!("x.{}-1.0", std::process::id()))
            .exists());
        assert!(parent
            .join(format!("x.{}.0", workbook::owner::owner_tag()))
            .exists());
    }
}

#[rstest]
#[case(CGROUP2_SUPER_MAGIC, None, Some(Layout::Unified))]
#[case(TMPFS_MAGIC, Some(CGROUP2_SUPER_MAGIC), Some(Layout::Hybrid))]
#[case(TMPFS_MAGIC, None, Some(Layout::Legacy))]
#[case(TMPFS_MAGIC, Some(TMPFS_MAGIC), Some(Layout::Legacy))]
#[case(CGROUP_SUPER_MAGIC, None, Some(Layout::Legacy))]
#[case(SYSFS_MAGIC, None, None)]
fn layout_from_filesystem_magic(
    #[case] root: i64,
    #[case] unified: Option<i64>,
    #[case] layout: Option<Layout>,
) {
    assert_eq!(layout_from_magic(root, unified), layout);
}

#[rstest]
#[case(Layout::Unified)]
#[case(Layout::Hybrid)]
#[case(Layout::Legacy)]
fn tables_describe_each_layout(#[case] layout: Layout) {
    let fake = FakeCgroupFs::new(layout);
    let fs = fake.cgroupfs();
    let root = fake.root();
    match layout {
        Layout::Unified => {
            assert_eq!(
                fs.unified,
                Some((root.clone(), "/user.slice/session-1.scope".into()))
            );
            assert!(fs.v1.is_empty());
        }
        Layout::Hybrid => {
            assert_eq!(fs.unified, Some((root.join("unified"), "/".into())));
            let mem = fs
                .v1_hierarchy(workbook::cgroup::Controller::Memory)
                .unwrap();
            assert_eq!(
                (mem.mount.clone(), mem.own.clone()),
                (root.join("memory"), "/process_api/abc".into())
            );
            assert_ne!(
                fs.v1_hierarchy(workbook::cgroup::Controller::Cpu)
                    .unwrap()
                    .mount,
                fs.v1_hierarchy(workbook::cgroup::Controller::Cpuacct)
                    .unwrap()
                    .mount
            );
        }
        Layout::Legacy => {
            assert_eq!(fs.unified, None);
            let cpu = fs.v1_hierarchy(workbook::cgroup::Controller::Cpu).unwrap();
            assert_eq!(cpu.controllers.len(), 2, "cpu,cpuacct is one hierarchy");
            let pids = fs.v1_hierarchy(workbook::cgroup::Controller::Pids).unwrap();
            assert_eq!(pids.own, PathBuf::from("/user.slice/user-0.slice"));
        }
    }
}

#[rstest]
#[case(Layout::Unified)]
#[case(Layout::Hybrid)]
#[case(Layout::Legacy)]
fn no_cgroup_mount_is_one_clear_sentence(#[case] layout: Layout) {
    let mountinfo = "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n";
    let err = CgroupFs::from_tables(layout, mountinfo, "0::/\n").expect_err("no cgroupfs");
    let msg = err.to_string();
    assert!(
        msg.starts_with("no cgroup filesystem is mounted at /sys/fs/cgroup"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn mountinfo_and_proc_cgroup_parse() {
    let mi = "35 24 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct\n\
              36 24 0:31 /inner /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n\
              37 24 0:32 / /proc rw - proc proc rw\n";
    let mounts = parse_mountinfo(mi);
    assert_eq!(mounts.len(), 2);
    assert_eq!(mounts[0].options, vec!["rw", "cpu", "cpuacct"]);
    assert_eq!(mounts[1].mount_point, PathBuf::from("/mnt/my cg"));
    assert_eq!(mounts[1].root, PathBuf::from("/inner"));
    let pc = parse_proc_cgroup("4:memory:/process_api/x\n1:name=systemd:/\n0::/a:b\n");
    assert_eq!(pc[0], ("memory".into(), PathBuf::from("/process_api/x")));
    assert_eq!(pc[2], (String::new(), PathBuf::from("/a:b")));
}

/// The layout `detect` reports on this machine agrees with the mount table, read apart from
/// statfs: what type is mounted at /sys/fs/cgroup and at /sys/fs/cgroup/unified.
#[test]
fn detection_on_this_machine_agrees_with_the_mount_table() {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    let fstype_at = |p: &str| {
        mounts
            .lines()
            .rfind(|l| l.split(' ').nth(1) == Some(p))
            .and_then(|l| l.split(' ').nth(2).map(str::to_string))
    };
    let expected = match (
        fstype_at("/sys/fs/cgroup").as_deref(),
        fstype_at("/sys/fs/cgroup/unified").as_deref(),
    ) {
        (Some("cgroup2"), _) => Some(Layout::Unified),
        (Some("tmpfs"), Some("cgroup2")) => Some(Layout::Hybrid),
        (Some("tmpfs"), _) | (Some("cgroup"), _) => Some(Layout::Legacy),
        _ => None,
    };
    assert_eq!(CgroupFs::detect().ok().map(|f| f.layout), expected);
}

/// Exercise 05.2's order. On v1 the quota and the period are two files, and the kernel
/// judges a quota against the period in place when the quota is written (a quota of 2 s
/// is refused against the default 100 ms period when the parent allows one CPU): the
/// period goes first, as runc and crun write them.
#[rstest]
#[case(Layout::Hybrid)]
#[case(Layout::Legacy)]
fn v1_writes_the_cpu_period_before_the_quota(#[case] layout: Layout) {
    let fake = FakeCgroupFs::new(layout);
    let plan = Cgroup::plan(&fake.cgroupfs(), "t.order", &all_limits()).expect("plan");
    let at = |name: &str| {
        plan.steps
            .iter()
            .position(|s| matches!(s, Step::Write { file, .. } if file.ends_with(name)))
    };
    match (at("cpu.cfs_period_us"), at("cpu.cfs_quota_us")) {
        (Some(period), Some(quota)) => assert!(
            period < quota,
            "cpu.cfs_quota_us is written before cpu.cfs_period_us: the kernel reads a new \
             quota against the period already in place, so write the period first"
        ),
        (period, quota) => {
            panic!(
            "with --cpus 0.5 the plan writes {} and {}: a CPU limit on v1 needs both files",
            if period.is_some() { "cpu.cfs_period_us" } else { "no cpu.cfs_period_us" },
            if quota.is_some() { "cpu.cfs_quota_us" } else { "no cpu.cfs_quota_us" },
        )
        }
    }
}
