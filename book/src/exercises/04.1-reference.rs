/// Writes the maps of process `pid`'s user namespace, from outside it: setgroups first,
/// then uid_map, then gid_map. Each file can be written once.
pub fn write_for(&self, pid: Pid) -> Result<()> {
    use std::path::PathBuf;

    let write = |file: &str, text: &str| {
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("writing {file:?}"), &path, e))
    };
    write("setgroups", "deny")?;
    write("uid_map", &IdMaps::render(&self.uids))?;
    write("gid_map", &IdMaps::render(&self.gids))
}
