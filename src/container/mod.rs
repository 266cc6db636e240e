//! The container: every building block of the earlier chapters, joined in the order the kernel
//! requires.

pub mod spec;
