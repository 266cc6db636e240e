/// Makes every mount of this namespace private: no mount event travels to or from the host.
pub fn make_private() -> Result<()> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| {
        Error::sys_path(
            "mount",
            "making mount propagation private",
            Path::new("/"),
            e,
        )
    })
}
