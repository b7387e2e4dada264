//! The `dengji` binary: parses the command line and hands over to `dengji::cli`.

/// mimalloc instead of glibc's allocator: the import's reader, checker and database threads
/// allocate many small strings side by side, where glibc's arenas spent a sixth of the CPU time
/// (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dengji::cli::main()
}
