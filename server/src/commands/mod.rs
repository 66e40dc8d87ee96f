//! The commands, one file per family, each an `impl Session` block called from
//! [`crate::session::Session::handle`].

mod data_setup;
mod files;
mod info;
mod listing;
mod login;
mod navigation;
mod security;
mod transfer;
