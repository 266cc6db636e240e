//! Foundation module (being written).
