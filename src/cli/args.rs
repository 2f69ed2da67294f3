//! Command-line arguments. With no subcommand the dashboard opens.

use clap::{Args, Parser, Subcommand};

use crate::domain::budget::{BudgetAction, parse_usd};
use crate::domain::{Service, StackName, Tier};

#[derive(Debug, Parser)]
#[command(
    name = "geusemaker-tui",
    version,
    about = "Deploy n8n, Ollama, Qdrant, Crawl4AI and PostgreSQL to a spot EC2 instance with data on EFS, and keep them alive",
    long_about = None,
    after_help = "With no command, opens the dashboard. Try it without AWS: geusemaker-tui --sandbox\n\
                  Exit codes: 0 success, 1 the operation failed, 2 bad input, 3 `scan` found something."
)]
pub struct Cli {
    /// Use the simulated sandbox cloud: no AWS account needed
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// AWS region (default: settings' default_region)
    #[arg(long, global = true, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile from ~/.aws/config (SSO profiles work)
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// Where to reach the services instead of the instance's address, for SSM
    /// port forwarding or tunnels: n8n=HOST:PORT,ollama=HOST:PORT,...
    #[arg(
        long,
        global = true,
        env = "GEUSEMAKER_SERVICE_ENDPOINTS",
        value_name = "LIST"
    )]
    pub service_endpoints: Option<String>,
    /// Look, never touch: every command and key that changes anything is refused
    #[arg(long, global = true)]
    pub readonly: bool,
    /// The dashboard's colours (default: settings' ui_preferences.color_theme; NO_COLOR: no-color)
    #[arg(long, global = true, value_enum, value_name = "THEME")]
    pub theme: Option<crate::domain::settings::ColorTheme>,
    /// Exit as soon as the first frame is drawn (for the startup benchmark)
    #[arg(long, hide = true)]
    pub exit_after_first_frame: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy a stack, or bring an existing one back to running
    Deploy(DeployArgs),
    /// Change a running stack's instance type, market, images or allowed CIDR: the plan, then a switch
    Update(UpdateArgs),
    /// How to reach the stack: n8n's URL, its webhook base, the sign-in, and a `forward` per internal service
    Connect(StackArg),
    /// Every operation with its stage timings, and every recovery, switch and rollback
    History(StackArg),
    /// Ollama's models on the stack: list them, pull one (with its progress), or remove one
    Models(ModelsArgs),
    /// Restart one service's container on the stack's instance, after confirming
    Restart(RestartArgs),
    /// Notifications (settings' notify.webhook_url): send a test event
    Notify(NotifyArgs),
    /// Remove a stack's resources; its EFS data is kept unless --delete-data
    Destroy(DestroyArgs),
    /// List the stacks in the state directory
    List,
    /// Show one stack's state, its exposure and both views of its health
    Status(StatusArgs),
    /// Show the stack's container logs
    Logs(LogsArgs),
    /// Show what the stack costs
    Cost(StackArg),
    /// Replace the stack's instance from its last healthy snapshot (EFS kept)
    Rollback(RollbackArgs),
    /// Watch the stack's health, roll it back when it fails; for systemd or cron
    Monitor(MonitorArgs),
    /// Inject a fault into a sandbox stack (needs --sandbox)
    Fault(FaultArgs),
    /// Set, change or clear a stack's monthly budget
    Budget(BudgetArgs),
    /// Check that this AWS account is ready for a deploy (exit 1 when a check fails)
    Doctor(super::doctor::DoctorArgs),
    /// Who may reach the stack's n8n: list, add, remove or set its CIDRs
    Access(AccessArgs),
    /// Forward an internal service (postgres, qdrant, ollama, crawl4ai) to localhost over SSM
    Forward(ForwardArgs),
    /// Open a shell on the stack's instance over SSM (Session Manager)
    Shell(StackArg),
    /// Print one of the stack's secrets, read from SSM Parameter Store, after confirming
    Secret(SecretArgs),
    /// Show the settings, or get or set one (validated as the file is)
    Settings(SettingsArgs),
    /// Find orphans, missing resources and drift: what is tagged as GeuseMaker's against the state files (exit 3 when anything is found)
    Scan(ScanArgs),
    /// Print a shell completion script, e.g. `source <(geusemaker-tui completions bash)`
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `geusemaker-tui man > geusemaker-tui.1`
    Man,
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    #[command(subcommand)]
    pub command: Option<SettingsCommand>,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Print one setting, by its dotted key (e.g. notify.webhook_url)
    Get { key: String },
    /// Set one setting: a number, true/false, null or text
    Set { key: String, value: String },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `--service NAME`, or `all` for every service (seed 001's CLI).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServiceFilter(pub Option<Service>);

fn service_or_all(text: &str) -> Result<ServiceFilter, String> {
    if text == "all" {
        return Ok(ServiceFilter(None));
    }
    text.parse().map(|s| ServiceFilter(Some(s))).map_err(|_| {
        format!(
            "{text:?} is not a service: use all, {}",
            Service::ALL.map(Service::name).join(", ")
        )
    })
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// Check both views of health now, instead of showing the last recorded sweep
    #[arg(long)]
    pub live: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("change").args(["list", "add", "remove", "set"]))]
pub struct AccessArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// Show the allowed CIDRs (the default)
    #[arg(long)]
    pub list: bool,
    /// Admit this CIDR too
    #[arg(long, value_name = "CIDR")]
    pub add: Option<String>,
    /// Stop admitting this CIDR
    #[arg(long, value_name = "CIDR")]
    pub remove: Option<String>,
    /// Admit exactly these CIDRs (comma-separated); every other is revoked
    #[arg(long, value_name = "CIDR,...")]
    pub set: Option<String>,
}

#[derive(Debug, Args)]
pub struct ForwardArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// postgres, qdrant, ollama, crawl4ai (or n8n)
    #[arg(value_enum)]
    pub service: Service,
    /// The port on this machine (default: the service's own)
    #[arg(long, value_name = "P", value_parser = clap::value_parser!(u16).range(1..))]
    pub local_port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct SecretArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// postgres-password, n8n-encryption-key, n8n-owner-password, qdrant-api-key, crawl4ai-api-token
    pub name: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct BudgetArgs {
    /// The stack whose budget this is (or --all)
    #[arg(value_parser = StackName::parse, required_unless_present = "all")]
    pub stack: Option<StackName>,
    /// Monthly budget in US dollars
    #[arg(value_name = "USD", value_parser = parse_usd, required_unless_present_any = ["clear", "all"])]
    pub monthly_usd: Option<f64>,
    /// At 100% spent: warn (default) or stop (terminate the instance, keep the EFS)
    #[arg(long, value_enum, conflicts_with = "all")]
    pub action: Option<BudgetAction>,
    /// Remove the budget
    #[arg(long, conflicts_with_all = ["monthly_usd", "action"])]
    pub clear: bool,
    /// One monthly budget over every live stack, in US dollars (none: show
    /// where they stand). Warns at 80% and 100%; at 100% the monitors stop
    /// the stacks whose own action is stop, the dearest first
    #[arg(long, value_name = "USD", num_args = 0..=1, value_parser = parse_usd, conflicts_with_all = ["stack", "monthly_usd"])]
    pub all: Option<Option<f64>>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Every enabled region, not only those the state files use (and the current one)
    #[arg(long)]
    pub all_regions: bool,
    #[command(subcommand)]
    pub action: Option<ScanAction>,
}

#[derive(Debug, Subcommand)]
pub enum ScanAction {
    /// Record an orphan in its stack's state, where a deploy would have, after confirming
    Adopt {
        /// The orphan's id, as `scan` lists it
        id: String,
        /// The stack to adopt it into (default: its Stack tag)
        #[arg(long, value_parser = StackName::parse)]
        stack: Option<StackName>,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Delete an orphan of this installation, after confirming
    Delete {
        id: String,
        #[arg(long)]
        yes: bool,
    },
    /// Clear a missing resource's record from its stack's state, after confirming
    Forget {
        id: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct StackArg {
    /// Stack name: 2-64 of a-z, 0-9 and '-'
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// Deployment tier (default: settings' default_tier)
    #[arg(long, value_enum)]
    pub tier: Option<Tier>,
    /// Use a spot instance (the default unless settings say prefer_spot: false)
    #[arg(long, conflicts_with = "on_demand")]
    pub spot: bool,
    /// Use an on-demand instance
    #[arg(long)]
    pub on_demand: bool,
    /// EC2 instance type (default: the tier's)
    #[arg(long, value_name = "TYPE")]
    pub instance_type: Option<String>,
    /// Pull this Ollama model once the services run (repeat for more); the
    /// dashboard's wizard offers the tier's default
    #[arg(long, value_name = "NAME")]
    pub model: Vec<String>,
    /// Use this VPC (default: the default VPC, else a new one)
    #[arg(long, value_name = "VPC_ID")]
    pub vpc_id: Option<String>,
    /// Create a VPC of the stack's own even when there is a default one
    #[arg(long, conflicts_with = "vpc_id")]
    pub new_vpc: bool,
    /// Launch in this subnet of the VPC (default: one in a zone offering the type)
    #[arg(long, value_name = "SUBNET_ID")]
    pub subnet_id: Option<String>,
    /// Keep an instance whose services never come up (default: roll it back)
    #[arg(long)]
    pub no_auto_rollback: bool,
    /// Minutes the services may take to come up before the rollback (1-120)
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(1..=120))]
    pub rollback_timeout: Option<u32>,
    /// Admit this CIDR to n8n instead of your own public IP /32 (a new
    /// stack only: change a running one's with `access`)
    #[arg(long, value_name = "CIDR")]
    pub allow_cidr: Option<String>,
    /// Removed: no port 22 is opened; use `geusemaker-tui shell STACK` (SSM)
    #[arg(long, value_name = "CIDR", hide = true)]
    pub ssh_cidr: Option<String>,
    /// Your DNS name for n8n on the automation tier, covered by --certificate-arn;
    /// point it (a CNAME) at the load balancer
    #[arg(long, value_name = "NAME")]
    pub domain: Option<String>,
    /// Open the automation tier's load balancer to the internet (HTTPS only;
    /// needs --certificate-arn and --domain)
    #[arg(long, conflicts_with = "public_webhooks")]
    pub public: bool,
    /// Let the internet reach /webhook* only; the rest stays the allowed CIDRs'
    /// (HTTPS only; needs --certificate-arn and --domain)
    #[arg(long)]
    pub public_webhooks: bool,
    /// The n8n owner's e-mail (default: owner@STACK.local); the password is
    /// the secret n8n-owner-password
    #[arg(long, value_name = "EMAIL")]
    pub owner_email: Option<String>,
    /// Allow the expensive instance families (p4, p5, inf2, trn1)
    #[arg(long)]
    pub allow_expensive: bool,
    /// Without spot capacity in any zone, launch on-demand instead of failing
    #[arg(long)]
    pub fallback_on_demand: bool,
    /// ACM certificate ARN: the load balancer listens on 443, and 80 redirects
    #[arg(long, value_name = "ARN")]
    pub certificate_arn: Option<String>,
    /// Launch this AMI (default: Amazon Linux 2023, or the Deep Learning
    /// Base GPU AMI on the gpu tier)
    #[arg(long, value_name = "AMI_ID")]
    pub ami_id: Option<String>,
    /// Monthly budget in US dollars (default: settings' monthly_budget_usd)
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    pub budget: Option<f64>,
    /// At 100% of the budget spent: warn or stop (default: settings' budget_action)
    #[arg(long, value_enum)]
    pub budget_action: Option<BudgetAction>,
    /// Deploy even when the estimate is over the budget
    #[arg(long)]
    pub over_budget: bool,
    /// Print what would be created or reused and what it costs; create nothing
    #[arg(long)]
    pub plan: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    #[command(subcommand)]
    pub action: Option<ModelsAction>,
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Pull a model onto the stack's EFS, showing its progress; a stall is retried
    Pull {
        /// A model of Ollama's library, like llama3.2:3b
        name: String,
    },
    /// Remove a model from the stack's EFS, after confirming
    Rm {
        name: String,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// n8n, ollama, qdrant, crawl4ai or postgres
    #[arg(value_enum)]
    pub service: Service,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    #[command(subcommand)]
    pub action: NotifyAction,
}

#[derive(Debug, Subcommand)]
pub enum NotifyAction {
    /// Send a test event to the webhook and say whether it took it
    Test,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// The EC2 instance type to switch to
    #[arg(long, value_name = "TYPE")]
    pub instance_type: Option<String>,
    /// Switch to a spot instance
    #[arg(long, conflicts_with = "on_demand")]
    pub spot: bool,
    /// Switch to an on-demand instance
    #[arg(long)]
    pub on_demand: bool,
    /// Move the images: `tested` (each service to its newest tag known to
    /// work, assets/images.toml) or SERVICE=TAG, e.g. n8n=1.91.3
    #[arg(long, value_name = "tested|SERVICE=TAG", num_args = 1..)]
    pub images: Vec<String>,
    /// Admit exactly this CIDR to n8n (no instance is replaced for this)
    #[arg(long, value_name = "CIDR")]
    pub allow_cidr: Option<String>,
    /// Update even when the estimate after is over the stack's budget
    #[arg(long)]
    pub over_budget: bool,
    /// Print what changes, what is replaced and kept, and the cost before and after; change nothing
    #[arg(long)]
    pub plan: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// Also delete the EFS with all the stack's data, and its secrets
    #[arg(long)]
    pub delete_data: bool,
    /// Do not ask for confirmation (--force, as seed 001 spells it, too)
    #[arg(long, short = 'y', visible_alias = "force")]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// Only this service's lines (n8n, ollama, qdrant, crawl4ai, postgres), or all
    #[arg(long, value_parser = service_or_all, value_name = "SERVICE")]
    pub service: Option<ServiceFilter>,
    /// Keep printing new lines until interrupted
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// How many of the latest lines to show first
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub tail: usize,
    /// Only lines from this long ago on, like 5m or 1h
    #[arg(long, value_parser = parse_interval, value_name = "D")]
    pub since: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// Time between sweeps, like 30s, 1s, 500ms or 2m (default: settings'
    /// health_check_interval_seconds)
    #[arg(long, value_parser = parse_interval, value_name = "D")]
    pub interval: Option<std::time::Duration>,
}

/// `30s`, `500ms`, `2m`, or a number of seconds; at least 100 ms.
pub fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{text:?} is not a duration; write it like 30s, 500ms, 2m or 1h");
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(bad()),
    };
    if !secs.is_finite() || secs < 0.1 {
        return Err(format!(
            "{text:?} is too short; the interval is at least 100ms"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[derive(Debug, Args)]
pub struct FaultArgs {
    #[arg(value_parser = StackName::parse)]
    pub stack: StackName,
    /// kill-service, restore-service, oom-kill, spot-interruption, throttle,
    /// caller-ip-changed (this machine's address changes: unreachable from
    /// here), terminate-instance or mark-unhealthy (its group replaces it),
    /// no-spot-capacity or spot-capacity-back, never-healthy (the next
    /// instance launched never becomes healthy: a switch to it falls back),
    /// bake-fails (the next image builder fails: the deploy goes on with
    /// the base image), pull-stalls (the next model pull stops short until
    /// pulled again)
    #[arg(value_parser = [
        "kill-service", "restore-service", "oom-kill", "spot-interruption", "throttle",
        "caller-ip-changed", "terminate-instance", "mark-unhealthy", "no-spot-capacity",
        "spot-capacity-back", "never-healthy", "bake-fails", "pull-stalls",
    ])]
    pub fault: String,
    /// The service, for kill-service, restore-service and oom-kill
    pub service: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::parse_interval;
    use std::time::Duration;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "fast", "1d", "50ms", "-1s"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
