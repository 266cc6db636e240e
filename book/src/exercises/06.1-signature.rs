/// The option string itself: lowerdir, then upperdir and workdir, then the flags.
fn options(&self) -> Result<String> {
    todo!("exercise 06.1")
}
