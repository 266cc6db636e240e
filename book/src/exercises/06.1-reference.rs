/// The option string itself: lowerdir, then upperdir and workdir, then the flags.
fn options(&self) -> Result<String> {
    // The kernel reads lowerdir= topmost first: reverse our bottom-first list.
    let lowers = self
        .lowers
        .iter()
        .rev()
        .map(|p| escape(p))
        .collect::<Result<Vec<_>>>()?;
    let mut options = format!("lowerdir={}", lowers.join(":"));
    if let Some(upper) = &self.upper {
        options.push_str(&format!(
            ",upperdir={},workdir={}",
            escape(&upper.dir)?,
            escape(&upper.work)?
        ));
    }
    if self.user_xattr {
        options.push_str(",userxattr");
    }
    Ok(options)
}
