//! One module per command; each is `validate → plan → (print | write)`.

pub mod new;
