//! Shell completions and the man page, both generated from the clap
//! definitions, so they cannot disagree with the commands.

use std::io::Write;

use clap::CommandFactory;

use super::{Cli, Failure};

const NAME: &str = "geusemaker-tui";

pub fn print_completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), NAME, &mut out);
    if shell == clap_complete::Shell::Bash {
        out = bash_fixed(&out);
    }
    write_out(&out)
}

/// clap_complete spells a hyphenated binary's subcommand states one way in
/// the loop that finds them (`geusemaker__tui__subcmd__destroy`) and
/// another in their case arms (`geusemaker__subcmd__tui__subcmd__destroy`),
/// so no subcommand's options ever complete (clap-rs/clap#6421, open). The
/// arms are respelt as the loop spells them.
fn bash_fixed(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace(
            "geusemaker__subcmd__tui__subcmd__",
            "geusemaker__tui__subcmd__",
        )
        .into_bytes()
}

pub fn print_man() -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Failure::failed(format!("could not render the man page: {e}")))?;
    write_out(&out)
}

fn write_out(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::failed(format!("could not write to stdout: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_names_every_command_and_bash_completes_them() {
        let mut man = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut man)
            .unwrap();
        let man = String::from_utf8(man).unwrap();
        assert!(
            man.starts_with(".ie") || man.contains(".TH geusemaker-tui"),
            "{}",
            &man[..80]
        );
        let mut bash = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            NAME,
            &mut bash,
        );
        let bash = String::from_utf8(bash).unwrap();
        for command in Cli::command().get_subcommands() {
            let name = command.get_name();
            assert!(man.contains(name), "{name} not in the man page");
            assert!(bash.contains(name), "{name} not completed");
        }
    }
}
