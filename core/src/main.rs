//! The `natter` command: parses arguments, loads configuration, starts logging, runs a command.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use natter_core::config::{Config, LoadedConfig, LogFormat};
use natter_core::domain::agent_links::AgentLinks;
use natter_core::domain::agent_logins::{self, AgentLogins};
use natter_core::domain::agents::{self, AgentRequest};
use natter_core::domain::audit::{AuditActor, NewAuditEntry};
use natter_core::domain::clock::SystemClock;
use natter_core::domain::ids::TokenId;
use natter_core::domain::model::AgentRole;
use natter_core::domain::scope::Scope;
use natter_core::domain::tokens::Tokens;
use natter_core::plugins::{
    HostOptions, MemoryPluginData, PluginData, PluginHost, PluginInfo, PluginSource, PluginStatus,
    RenderContext, build,
};
use natter_core::store::Store;
use tracing_subscriber::EnvFilter;

/// jemalloc instead of the system allocator: with its background threads (started in `serve`) pages
/// freed when many sockets close are handed back to the system after its decay time (10 s), where
/// glibc's arenas keep them.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "natter",
    version,
    about = "Natter: a self-hosted live chat server"
)]
struct Cli {
    /// The configuration file (missing is fine: built-in defaults apply).
    #[arg(
        long,
        global = true,
        default_value = "config.toml",
        env = "NATTER_CONFIG"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage agents.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Check and try Action Rule scripts.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Build, check and list WebAssembly plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Check the mail settings.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Send one mail through the configured SMTP server and print its answer, or why it failed
    /// (refused connection, TLS, authentication, rejected recipient).
    Test {
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it once.
    Create {
        #[arg(long)]
        name: String,
        /// A scope (repeat for several): admin, conversations:read, conversations:write,
        /// agents:read, agents:write, agent-links:create, sites:read, rules:read, rules:write,
        /// visibility:read, visibility:write, webhooks:read, webhooks:write, widget:read, widget:write.
        #[arg(long = "scope", required = true)]
        scopes: Vec<Scope>,
        /// When the token stops working (RFC 3339), e.g. 2027-01-01T00:00:00Z.
        #[arg(long)]
        expires_at: Option<DateTime<Utc>>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: TokenId },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create an agent who signs in to the console with the password read from standard input (one
    /// line, at least 10 characters). `--admin` makes an admin: how the first one is made, e.g.
    /// `printf '%s' "$PASSWORD" | natter agent create --email E --name N --admin`.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Give the agent the admin role (the console's admin pages and every API route).
        #[arg(long)]
        admin: bool,
    },
    /// Set the password an agent signs in to the console with, read from standard input (one line,
    /// at least 10 characters), e.g. `printf '%s' "$PASSWORD" | natter agent password --email E`.
    Password {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Compile a rule script; prints line, column and message when it does not compile.
    Check { file: PathBuf },
    /// Evaluate a rule script against a context (JSON, as in `POST /api/v1/rules/test`).
    Test {
        file: PathBuf,
        /// The context, e.g. '{"agents":{"online":1},"visitor":{"seconds_on_page":3}}'.
        #[arg(long, default_value = "{}")]
        context: String,
        /// The script's parameters (a JSON object).
        #[arg(long, default_value = "{}")]
        params: String,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Build a plugin crate into a component (.wasm), then check it.
    Build {
        /// The plugin crate's folder (with its Cargo.toml).
        dir: PathBuf,
        /// Where to write the component (default: <target dir>/<package>.wasm).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load one component as the server would: manifest, API version, capabilities, or the refusal.
    Check { file: PathBuf },
    /// The plugins the configured server loads: built-ins and the plugin folder, with grants and status.
    List,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the configuration in force, secrets redacted.
    Show,
}

/// Errors are printed as their message and causes, one line each: returning them from `main` would print
/// their `Debug` form, which with `RUST_BACKTRACE` set is a stack trace an operator has no use for.
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprint!("{}", error_report(&error));
            ExitCode::FAILURE
        }
    }
}

/// `error: <message>`, then `caused by: <cause>` for each cause whose text the line above does not
/// already include (our error types often embed their source's message).
fn error_report(error: &anyhow::Error) -> String {
    let mut lines = vec![format!("error: {error}")];
    let mut previous = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !previous.contains(&text) {
            lines.push(format!("caused by: {text}"));
        }
        previous = text;
    }
    lines.join("\n") + "\n"
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let loaded = Config::load(&cli.config)?;
    init_tracing(&loaded.config);
    for variable in &loaded.unknown_env {
        tracing::warn!(%variable, "unknown NATTER_ variable ignored");
    }
    match cli.command {
        Command::Serve => serve(loaded).await,
        Command::Migrate => {
            let store = Store::connect(&loaded.database_url()).await?;
            store.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Token { command } => token(loaded, command).await,
        Command::Agent { command } => agent(loaded, command).await,
        Command::Rules { command } => rules(&loaded.config, command),
        Command::Plugin { command } => plugin(loaded, command).await,
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            print!("{}", loaded.redacted_toml());
            Ok(())
        }
        Command::Mail {
            command: MailCommand::Test { to },
        } => mail_test(&loaded, &to).await,
    }
}

async fn mail_test(loaded: &LoadedConfig, to: &str) -> anyhow::Result<()> {
    natter_core::mail::transport::parse_address(to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let sender = natter_core::mail::SmtpSender::from_config(loaded)?;
    let outcome = sender.send_test(to).await;
    match outcome.error {
        None => {
            println!("sent to {to}; the server answered: {}", outcome.answer);
            Ok(())
        }
        Some(error) => bail!("not sent: {error}"),
    }
}

async fn serve(loaded: LoadedConfig) -> anyhow::Result<()> {
    raise_open_files();
    return_freed_memory();
    let address = loaded.config.server.listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    natter_core::serve(loaded, listener, shutdown_signal(), Default::default()).await?;
    Ok(())
}

/// jemalloc purges freed pages as other allocations happen; a server that goes quiet after a crowd
/// left would keep them. Its background threads purge on their own clock.
fn return_freed_memory() {
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(error = %e, "cannot start the allocator's background threads");
    }
}

/// Every socket is a file descriptor, and a shell's default soft limit (often 1,024) is far below what
/// one node holds: raise the soft limit to the hard one (`ulimit -Hn`; raising that is the operator's).
fn raise_open_files() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return;
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::info!(
            open_files = limit
                .maximum
                .map_or_else(|| "unlimited".to_string(), |n| n.to_string()),
            "raised the open-file limit"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
}

async fn token(loaded: LoadedConfig, command: TokenCommand) -> anyhow::Result<()> {
    let store = Store::connect(&loaded.database_url()).await?;
    store.migrate().await?;
    let tokens = Tokens::new(store.clone(), Arc::new(SystemClock));
    match command {
        TokenCommand::Create {
            name,
            scopes,
            expires_at,
        } => {
            let created = tokens.create(&name, scopes, expires_at).await?;
            store
                .append_audit(NewAuditEntry {
                    actor: AuditActor::cli(),
                    action: "token.create".into(),
                    target: format!("{} ({})", created.token.name, created.token.id),
                    status: 0,
                })
                .await?;
            eprintln!(
                "Created token {} ({}). It is shown once; store it now:",
                created.token.name, created.token.id
            );
            println!("{}", created.secret);
        }
        TokenCommand::List => {
            for t in tokens.list().await? {
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
                let state = if t.revoked_at.is_some() {
                    "revoked".to_string()
                } else if let Some(at) = t.expires_at {
                    format!("expires {at}")
                } else {
                    "active".to_string()
                };
                println!(
                    "{}  {:<12} {:<20} {:<40} {}",
                    t.id,
                    t.prefix,
                    t.name,
                    scopes.join(","),
                    state
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if tokens.revoke(id).await.is_err() {
                bail!("no token with id {id}");
            }
            store
                .append_audit(NewAuditEntry {
                    actor: AuditActor::cli(),
                    action: "token.revoke".into(),
                    target: id.to_string(),
                    status: 0,
                })
                .await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

async fn agent(loaded: LoadedConfig, command: AgentCommand) -> anyhow::Result<()> {
    let store = Store::connect(&loaded.database_url()).await?;
    store.migrate().await?;
    let clock = Arc::new(SystemClock);
    let auth = &loaded.config.auth;
    let links = AgentLinks::new(
        store.clone(),
        clock.clone(),
        auth.chat_link_ttl_seconds,
        auth.session_ttl_seconds,
    );
    let logins = AgentLogins::new(store.clone(), clock, links);
    match command {
        AgentCommand::Password { email } => {
            let password = read_password(&email)?;
            let agent = logins.set_password_by_email(&email, &password).await?;
            println!("password set for {} ({})", agent.email, agent.id);
        }
        AgentCommand::Create { email, name, admin } => {
            let password = read_password(&email)?;
            // Checked before the agent exists, so a refused password leaves nothing behind.
            agent_logins::check_password_rules(&password)?;
            let role = if admin {
                AgentRole::Admin
            } else {
                AgentRole::Agent
            };
            let request = AgentRequest {
                email: &email,
                name: &name,
                external_id: None,
                role,
            };
            let agent = agents::create(&store, request).await?;
            logins.set_password(agent.id, &password).await?;
            store
                .append_audit(NewAuditEntry {
                    actor: AuditActor::cli(),
                    action: format!("agent.create ({})", role.as_str()),
                    target: agent.email.clone(),
                    status: 0,
                })
                .await?;
            println!(
                "created {} {} ({}); they sign in at /agent/login",
                role.as_str(),
                agent.email,
                agent.id
            );
        }
    }
    Ok(())
}

/// One line from standard input, without its line ending; a prompt first when a person types it.
fn read_password(email: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("New console password for {email} (shown as you type), then Enter: ");
    }
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    Ok(password.to_string())
}

fn rules(config: &Config, command: RulesCommand) -> anyhow::Result<()> {
    let engine = natter_rules::RuleEngine::new(config.rules.clone());
    let (file, test) = match command {
        RulesCommand::Check { file } => (file, None),
        RulesCommand::Test {
            file,
            context,
            params,
        } => (file, Some((context, params))),
    };
    let script = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let compiled = match engine.compile(&name, &script) {
        Ok(compiled) => compiled,
        Err(e) => bail!("{name}: {e}"),
    };
    let Some((context, params)) = test else {
        println!("{name}: compiles");
        return Ok(());
    };
    let context: natter_rules::Context =
        serde_json::from_str(&context).context("--context is not a valid context")?;
    let params: serde_json::Value =
        serde_json::from_str(&params).context("--params is not JSON")?;
    let rules = [natter_rules::ConfiguredRule::new(compiled, params, true)];
    let decision = engine.evaluate_all(&rules, &[], &context);
    println!("{}", serde_json::to_string_pretty(&decision)?);
    Ok(())
}

async fn plugin(loaded: LoadedConfig, command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::Build { dir, out } => {
            let built =
                tokio::task::spawn_blocking(move || build::build(&dir, out.as_deref())).await??;
            eprintln!("built {}", built.display());
            check(&loaded, &built).await
        }
        PluginCommand::Check { file } => check(&loaded, &file).await,
        PluginCommand::List => {
            let store = Store::connect(&loaded.database_url()).await?;
            store.migrate().await?;
            let data: std::sync::Arc<dyn PluginData> = std::sync::Arc::new(store.clone());
            let host = PluginHost::start(HostOptions::from_config(&loaded, data)).await?;
            for info in host.list() {
                print_plugin(&host, &info);
            }
            for (file, error) in host.load_errors() {
                println!("{}  not loaded: {error}", file.display());
            }
            host.stop();
            store.close().await?;
            Ok(())
        }
    }
}

/// Loads one component with the configured limits and grants (no built-ins, no folder), prints what it
/// is, and renders it once with its default configuration.
async fn check(loaded: &LoadedConfig, file: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut options =
        HostOptions::from_config(loaded, std::sync::Arc::new(MemoryPluginData::default()));
    options.builtins.clear();
    options.dir = None;
    let host = PluginHost::start(options).await?;
    let hint = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let info = match host
        .add(&hint, bytes, PluginSource::File(file.to_path_buf()))
        .await
    {
        Ok(info) => info,
        Err(refusal) => bail!("{}: refused: {refusal}", file.display()),
    };
    print_plugin(&host, &info);
    let ctx = RenderContext {
        site_key: "site_check".into(),
        base_url: "http://127.0.0.1:8080".into(),
        ws_url: "ws://127.0.0.1:8080/ws/visitor".into(),
    };
    match host.render(&info.manifest.name, "{}", &ctx).await {
        Ok((rendered, _)) => println!(
            "render with the default configuration: ok ({} bytes of script, {} of style)",
            rendered.script.len(),
            rendered.style.len()
        ),
        Err(e) => bail!("render with the default configuration failed: {e}"),
    }
    host.stop();
    Ok(())
}

fn print_plugin(host: &PluginHost, info: &PluginInfo) {
    let m = &info.manifest;
    let status = match &info.status {
        PluginStatus::Active => "active".to_string(),
        PluginStatus::Disabled { reason, at } => format!("DISABLED since {at}: {reason}"),
    };
    let list = |items: &[String]| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(",")
        }
    };
    println!(
        "{} {}  kind={}  api={}  source={}{}",
        m.name,
        m.version,
        m.kind.as_str(),
        m.api_version,
        info.source,
        if info.replaces_builtin {
            " (replaces the built-in)"
        } else {
            ""
        }
    );
    println!(
        "  asks={}  configured={}  granted={}  status={status}",
        list(&m.capabilities),
        list(&host.configured_grants(&m.name)),
        list(&info.capabilities_granted)
    );
    if !m.description.is_empty() {
        println!("  {}", m.description);
    }
}

fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_from_env("NATTER_LOG")
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; a file, a pipe or the journal gets plain text.
        .with_ansi(std::io::stderr().is_terminal());
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
