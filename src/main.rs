// mimalloc: `trigc run` allocates and frees per-customer state on every event; glibc's
// malloc/free were ~5% of its instructions (figures in BENCHMARKS.md). The library
// leaves the choice of allocator to its users; the binary makes it here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    trigc::cli::main()
}
