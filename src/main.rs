fn main() -> std::process::ExitCode {
    trigc::cli::main()
}
