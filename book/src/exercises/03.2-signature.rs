/// Run in the child, inside its new mount namespace: makes `setup.root` the root of it.
pub fn enter(setup: &RootSetup) -> Result<()> {
    todo!("exercise 03.2")
}
