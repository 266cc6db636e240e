/// Sets it as the host name of the calling process's UTS namespace.
pub fn apply(&self) -> Result<()> {
    nix::unistd::sethostname(&self.0).map_err(|e| {
        Error::sys(
            "sethostname",
            format!("setting the hostname to {}", self.0),
            e,
        )
    })
}
