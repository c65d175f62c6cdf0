//! The `stompbox` binary's parts: command line, config file, traffic log,
//! HTTP inspection API and its JSON.

pub(crate) mod args;
pub(crate) mod config;
pub(crate) mod faults;
pub(crate) mod feed;
pub(crate) mod http;
pub(crate) mod json;
pub(crate) mod log;
pub(crate) mod pages;
pub(crate) mod server;
pub(crate) mod web;
