use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use geusemaker::cli::{self, Cli, Failure};
use geusemaker::runtime::{Options, Runtime};

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let args = Cli::parse();
    // Headless commands need one thread; the dashboard runs its tasks beside the UI.
    let mut builder = match args.command {
        Some(_) => tokio::runtime::Builder::new_current_thread(),
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&Failure::failed(format!("could not start: {e}"))),
    };
    match runtime.block_on(run(args, started)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure),
    }
}

async fn run(args: Cli, started: std::time::Instant) -> Result<(), Failure> {
    // Generated from the definitions alone: no settings, no state directory.
    match &args.command {
        Some(cli::Command::Completions(a)) => return cli::completions::print_completions(a.shell),
        Some(cli::Command::Man) => return cli::completions::print_man(),
        _ => {}
    }
    let options = Options {
        sandbox: args.sandbox,
        region: args.region.clone(),
        profile: args.profile.clone(),
        service_endpoints: args.service_endpoints.clone(),
        readonly: args.readonly,
    };
    let rt = Runtime::open(&options)?;
    let _log_guard = geusemaker::logging::init(&rt.store.logs_dir());
    match args.command {
        Some(command) => cli::run(&rt, command, args.json).await,
        None => {
            if !std::io::stdout().is_terminal() {
                return Err(Failure::bad_input(
                    "the dashboard needs a terminal, and stdout is not one. Use a command instead, e.g. `geusemaker-tui list --json`",
                ));
            }
            let result = geusemaker::app::dashboard::run(
                &rt,
                geusemaker::app::dashboard::Options {
                    exit_after_first_frame: args.exit_after_first_frame,
                    theme: args.theme,
                },
            )
            .await
            .map_err(|e| Failure::failed(format!("the dashboard stopped: {e}")));
            if args.exit_after_first_frame {
                // For the startup benchmark: process start to first frame drawn.
                eprintln!(
                    "first frame after {:.2} ms",
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
            result
        }
    }
}

fn fail(failure: &Failure) -> ExitCode {
    eprintln!("error: {failure}");
    ExitCode::from(failure.code)
}
