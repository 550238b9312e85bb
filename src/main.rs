use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    staffel::cli::run(staffel::cli::Cli::parse()).await
}
