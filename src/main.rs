//! The `hookrelay` binary: `serve` (default), `migrate`, `token`, `verify`,
//! `keygen` and `manifest`; see `hookrelay::cli`.

/// See Cargo.toml: jemalloc over glibc malloc for the many small,
/// cross-thread allocations of request handling.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    hookrelay::cli::run()
}
