/// Sets it as the host name of the calling process's UTS namespace.
pub fn apply(&self) -> Result<()> {
    todo!("exercise 02.1")
}
