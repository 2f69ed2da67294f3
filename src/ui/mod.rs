//! The dashboard's views. They only read the model.

mod commands;
mod connect;
mod cost;
mod dialogs;
mod events;
mod exposure;
mod footer;
mod header;
mod health;
mod help;
pub mod hyperlinks;
pub mod layout;
mod logs;
mod models;
mod orphans;
mod palette;
mod pipeline;
mod plan;
mod stacks;
pub mod symbols;
pub mod theme;
mod too_small;
mod update;
mod wizard;

use ratatui::Frame;

use crate::app::model::{Model, Overlay};

pub fn view(model: &Model, frame: &mut Frame) {
    theme::set(theme::Look {
        theme: model.theme,
        compact: model.compact,
    });
    draw(model, frame);
    if theme::is_no_color() {
        theme::strip_colors(frame.buffer_mut());
    }
}

fn draw(model: &Model, frame: &mut Frame) {
    let area = frame.area();
    if area.width < layout::MIN_WIDTH || area.height < layout::MIN_HEIGHT {
        too_small::render(model, frame, area);
        return;
    }
    let r = regions(model, area);
    header::render(model, frame, r.header);
    stacks::render(model, frame, r.stacks);
    health::render(model, frame, r.health);
    cost::render(model, frame, r.cost);
    pipeline::render(model, frame, r.pipeline);
    logs::render(model, frame, r.logs);
    footer::render(model, frame, r.footer);
    match &model.overlay {
        None => {}
        Some(Overlay::Help) => help::render(&model.keymap, frame, area, model.help_scroll),
        Some(Overlay::Wizard(w)) => wizard::render(model, w, frame, area),
        Some(Overlay::ConfirmDestroy(c)) => dialogs::confirm_destroy(model, c, frame, area),
        Some(Overlay::Faults(menu)) => dialogs::faults(menu, frame, area),
        Some(Overlay::Offer(offer)) => dialogs::offer(offer, frame, area),
        Some(Overlay::ConfirmRollback(stack)) => {
            dialogs::confirm_rollback(model, stack, frame, area)
        }
        Some(Overlay::Exposure { stack, scroll }) => {
            exposure::dialog(model, stack, *scroll, frame, area)
        }
        Some(Overlay::Events { stack, scroll }) => {
            events::dialog(model, stack, *scroll, frame, area)
        }
        Some(Overlay::Command(dialog)) => commands::command(dialog, frame, area),
        Some(Overlay::Secrets(picker)) => commands::secrets(picker, frame, area),
        Some(Overlay::Models { stack, selected }) => {
            models::dialog(model, stack, *selected, frame, area)
        }
        Some(Overlay::ConfirmRemoveModel { stack, name }) => {
            dialogs::confirm_remove_model(stack, name, frame, area)
        }
        Some(Overlay::ConfirmRestart { stack, service }) => {
            dialogs::confirm_restart(stack, *service, frame, area)
        }
        Some(Overlay::Connect { stack, selected }) => {
            connect::dialog(model, stack, *selected, frame, area);
            if model.hyperlinks {
                hyperlinks::link_urls(frame.buffer_mut(), area);
            }
        }
        Some(Overlay::Update(d)) => update::dialog(d, frame, area),
        Some(Overlay::Palette(input)) => palette::render(model, input, frame, area),
        Some(Overlay::Orphans { selected }) => orphans::dialog(model, *selected, frame, area),
        Some(Overlay::ConfirmFix { question, fix, .. }) => {
            orphans::confirm(question, fix, frame, area)
        }
    }
}

/// Where each pane is drawn on `area`: the view's layout, also what a
/// click is matched against.
pub fn regions(model: &Model, area: ratatui::layout::Rect) -> layout::Regions {
    let detailed = model.focus == crate::app::model::Pane::Cost || area.height >= 34;
    let cost_rows = if detailed {
        layout::COST_ROWS_DETAILED
    } else {
        layout::COST_ROWS
    };
    // The stacks keep room for one (4 rows) whatever grows below them.
    let health_rows =
        health::rows(model, area.height).min(area.height.saturating_sub(6 + cost_rows));
    // Compact panes have a top edge only: one row less each, for the
    // stacks and the logs.
    let edge = u16::from(model.compact);
    layout::regions(
        area,
        pipeline::rows(model).saturating_sub(edge),
        health_rows.saturating_sub(edge),
        cost_rows - edge,
    )
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_access;
#[cfg(test)]
mod tests_connect;
#[cfg(test)]
mod tests_events;
#[cfg(test)]
mod tests_look;
#[cfg(test)]
mod tests_models;
#[cfg(test)]
mod tests_orphans;
#[cfg(test)]
mod tests_readonly;
#[cfg(test)]
mod tests_update;
