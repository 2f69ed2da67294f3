//! The Orphans view (`O`): the account scanned against the state files.
//! `a` adopts and `x` deletes an orphan, `f` forgets a missing resource;
//! each asks first, and the runner scans again after it. `r` scans again;
//! `A` widens the scan to every enabled region, or narrows it back.

use crossterm::event::{KeyCode, KeyEvent};

use super::notify;
use crate::app::effect::Effect;
use crate::app::model::{Model, NoticeLevel, Overlay};
use crate::app::orphans::{Finding, Section, last_findings};
use crate::deploy::scan::{self, Fix, Scanned};
use crate::domain::StackName;

type Outcome = (Option<Overlay>, Vec<Effect>);

/// `O`: the view, and a scan unless one is under way.
pub fn open(model: &mut Model) -> Vec<Effect> {
    model.overlay = Some(Overlay::Orphans { selected: 0 });
    rescan(model)
}

/// The sandbox has no account: its stacks live in its own files.
const SANDBOX: &str = "The sandbox keeps its stacks in its own files: it has no account to scan. \
                       Without --sandbox, O scans your AWS account for what is tagged as \
                       GeuseMaker's but in no state (orphans), what a state records that AWS no \
                       longer has (missing), and what differs from the state (drift).";

fn rescan(model: &mut Model) -> Vec<Effect> {
    if model.is_sandbox() {
        model.scan.last = Some(Err(SANDBOX.into()));
        return Vec::new();
    }
    if model.scan.busy.is_some() {
        return Vec::new();
    }
    let all_regions = model.scan.all_regions;
    let scope = if all_regions {
        "every enabled region"
    } else {
        "the stacks' regions"
    };
    model.scan.busy = Some(format!("scanning {scope}"));
    vec![Effect::Scan { all_regions }]
}

pub fn on_key(model: &mut Model, selected: usize, key: KeyEvent) -> Outcome {
    let rows = last_findings(&model.scan);
    let stay = |selected: usize| Some(Overlay::Orphans { selected });
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('O') => (None, Vec::new()),
        KeyCode::Char('j') | KeyCode::Down => (
            stay((selected + 1).min(rows.len().saturating_sub(1))),
            Vec::new(),
        ),
        KeyCode::Char('k') | KeyCode::Up => (stay(selected.saturating_sub(1)), Vec::new()),
        KeyCode::Char('g') | KeyCode::Home => (stay(0), Vec::new()),
        KeyCode::Char('G') | KeyCode::End => (stay(rows.len().saturating_sub(1)), Vec::new()),
        KeyCode::Char('r') => (stay(selected), rescan(model)),
        KeyCode::Char('A') if model.scan.busy.is_none() => {
            model.scan.all_regions = !model.scan.all_regions;
            (stay(0), rescan(model))
        }
        KeyCode::Char(c @ ('a' | 'x' | 'f')) => match rows.get(selected) {
            Some(row) => (ask(model, selected, row, c), Vec::new()),
            None => (stay(selected), Vec::new()),
        },
        _ => (stay(selected), Vec::new()),
    }
}

/// The confirmation of key `c` on `row`, or the view again with why not.
fn ask(model: &mut Model, selected: usize, row: &Finding, c: char) -> Option<Overlay> {
    let stay = Some(Overlay::Orphans { selected });
    if model.readonly {
        let text = "read-only: the scan only looks";
        notify(model, NoticeLevel::Warn, text);
        return stay;
    }
    if let Some(busy) = &model.scan.busy {
        let text = format!("{busy}; wait for it to end");
        notify(model, NoticeLevel::Warn, text);
        return stay;
    }
    let Some(fix) = row.fix_of(c) else {
        let text = match row.section {
            Section::Elsewhere => "another installation's: never changed from here",
            Section::Drift => "drift is put back by a deploy of its stack (u or the CLI's deploy)",
            _ => "a adopts and x deletes an orphan; f forgets a missing resource",
        };
        notify(model, NoticeLevel::Warn, text);
        return stay;
    };
    // An orphan without a Stack tag goes into the selected stack, as
    // `scan adopt --stack` would put it.
    let fix = match (fix, &row.stack, model.selected_stack()) {
        (Fix::Adopt(None), None, Some(s)) => Fix::Adopt(StackName::parse(&s.stack_name).ok()),
        (fix, ..) => fix,
    };
    let Some(Ok(scanned)) = &model.scan.last else {
        return stay;
    };
    match scan::question(scanned, &row.id, &fix) {
        Ok(question) => Some(Overlay::ConfirmFix {
            id: row.id.clone(),
            fix,
            question,
        }),
        Err(why) => {
            notify(model, NoticeLevel::Warn, why.to_string());
            stay
        }
    }
}

pub fn confirm_key(
    model: &mut Model,
    id: String,
    fix: Fix,
    question: String,
    key: KeyEvent,
) -> Outcome {
    let back = Some(Overlay::Orphans { selected: 0 });
    match key.code {
        KeyCode::Char('y') => {
            let doing = match fix {
                Fix::Adopt(_) => "adopting",
                Fix::Forget => "forgetting",
                Fix::Delete => "deleting",
            };
            model.scan.busy = Some(format!("{doing} {id}, then scanning again"));
            let all_regions = model.scan.all_regions;
            (
                back,
                vec![Effect::Fix {
                    id,
                    fix,
                    all_regions,
                }],
            )
        }
        KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => (back, Vec::new()),
        _ => (Some(Overlay::ConfirmFix { id, fix, question }), Vec::new()),
    }
}

/// A scan answered: keep it, and keep the cursor on a row.
pub fn scanned(model: &mut Model, result: Result<Box<Scanned>, String>) {
    model.scan.busy = None;
    model.scan.at = Some(model.now);
    model.scan.last = Some(result.map(|s| *s));
    let rows = last_findings(&model.scan).len();
    if let Some(Overlay::Orphans { selected }) = &mut model.overlay {
        *selected = (*selected).min(rows.saturating_sub(1));
    }
}
