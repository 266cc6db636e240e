/// Run in the child, inside its new mount namespace: makes `setup.root` the root of it.
pub fn enter(setup: &RootSetup) -> Result<()> {
    use crate::mount;

    let root = &setup.root;
    mount::make_private()?;
    // pivot_root wants the new root to be a mount point: bind it onto itself.
    mount::bind(root, root)?;
    pseudo::mount_proc(root)?;
    devices::mount_dev(root)?;
    pseudo::mount_sys(root)?;
    pseudo::mount_tmp(root)?;
    switch(root, setup.switch)
}
