//! `models STACK [pull NAME | rm NAME]`: Ollama's models on the stack's EFS.

use std::io::{IsTerminal, Write};

use crate::domain::cost::dollars;
use crate::domain::models::{self, ModelsView, check_name, progress_line};
use crate::runtime::Runtime;

use super::args::{ModelsAction, ModelsArgs};
use super::operations::confirm;
use super::output::{print_json, print_text, table};
use super::{Failure, load_existing};

pub async fn models(rt: &Runtime, args: ModelsArgs, json: bool) -> Result<(), Failure> {
    if let Some(ModelsAction::Pull { name } | ModelsAction::Rm { name, .. }) = &args.action {
        check_name(name).map_err(Failure::bad_input)?;
    }
    let state = load_existing(rt, &args.stack)?;
    if !crate::deploy::update::runs(&state) {
        return Err(Failure::bad_input(format!(
            "{} has no instance running ({}): its models are on the EFS, and `deploy {}` starts it",
            args.stack, state.status, args.stack
        )));
    }
    let ctx = rt.context(rt.cloud_in(state.region()).await?);
    let failed = |e: crate::cloud::CloudError| Failure::failed(e.to_string());
    match args.action {
        None => {
            let view = ctx.cloud.models(&state).await.map_err(failed)?;
            if json {
                return print_json(&view);
            }
            print_text(&list(
                &view,
                state.cost.as_ref().map_or(0.3, |c| c.efs_gb_month_price),
            ))
        }
        Some(ModelsAction::Pull { name }) => {
            let terminal = std::io::stderr().is_terminal();
            let mut shown = None;
            let pulled = crate::deploy::models::pull(&ctx, &state, &name, |p, tracker, retry| {
                if retry {
                    eprintln!("\nno progress for a while: pulling {name} again (it resumes)");
                }
                let percent = p.completed.zip(p.total).map(|(c, t)| c * 100 / t.max(1));
                if terminal {
                    eprint!("\r{name} {}\x1b[K", progress_line(p, tracker, 30));
                    let _ = std::io::stderr().flush();
                } else if percent != shown {
                    eprintln!("{name} {}", progress_line(p, tracker, 30));
                }
                shown = percent;
            })
            .await
            .map_err(Failure::failed)?;
            if terminal {
                eprintln!();
            }
            if json {
                return print_json(&pulled);
            }
            let size = pulled.progress.total.map(models::bytes).unwrap_or_default();
            println!("{name} is on {}'s EFS ({size})", args.stack);
            Ok(())
        }
        Some(ModelsAction::Rm { name, yes }) => {
            if !yes {
                confirm(&format!("Remove {name} from {}'s EFS?", args.stack))?;
            }
            ctx.cloud
                .remove_model(&state, &name)
                .await
                .map_err(failed)?;
            if json {
                return print_json(&serde_json::json!({"removed": name}));
            }
            println!("{name} is removed from {}'s EFS", args.stack);
            Ok(())
        }
    }
}

fn list(view: &ModelsView, efs_gb_month: f64) -> String {
    if view.installed.is_empty() {
        return "No models yet: `models STACK pull llama3.2:3b` pulls one\n".into();
    }
    let rows: Vec<Vec<String>> = view
        .installed
        .iter()
        .map(|m| {
            let loaded = view
                .loaded
                .iter()
                .find(|l| l.name == m.name)
                .map(|l| format!("{} {}", l.processor(), models::bytes(l.size_bytes)))
                .unwrap_or_else(|| "-".into());
            vec![
                m.name.clone(),
                models::bytes(m.size_bytes),
                m.modified_at
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(16)
                    .collect(),
                loaded,
            ]
        })
        .collect();
    let total: u64 = view.installed.iter().map(|m| m.size_bytes).sum();
    format!(
        "{}\non the EFS: {}, ~{}/month\n",
        table(&["NAME", "SIZE", "MODIFIED", "LOADED"], &rows),
        models::bytes(total),
        dollars(total as f64 / 1e9 * efs_gb_month)
    )
}
