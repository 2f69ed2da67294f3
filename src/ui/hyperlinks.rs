//! OSC 8 hyperlinks over URLs already drawn: each whole `http://` or
//! `https://` run of cells becomes one cell holding the link, forced to the
//! run's width, and the rest of the run is skipped, so ratatui's diff and
//! cursor stay right. Only on a real terminal (`Model::hyperlinks`); a URL
//! cut short (`…`) is left as text, since its target is not all there.

use std::num::NonZeroU16;

use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::Rect;

/// `text` that opens `url` where the terminal knows OSC 8.
pub fn osc8(url: &str, text: &str) -> String {
    format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\")
}

/// Link every whole URL inside `area` of `buf`.
pub fn link_urls(buf: &mut Buffer, area: Rect) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        let row: Vec<String> = (area.left()..area.right())
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        for (start, len) in url_runs(&row) {
            let url: String = row[start..start + len].concat();
            let x = area.left() + start as u16;
            let Some(width) = NonZeroU16::new(len as u16) else {
                continue;
            };
            buf[(x, y)]
                .set_symbol(&osc8(&url, &url))
                .set_diff_option(CellDiffOption::ForcedWidth(width));
            for dx in 1..len as u16 {
                buf[(x + dx, y)].set_diff_option(CellDiffOption::Skip);
            }
        }
    }
}

/// (start, length) of each whole URL in a row of one-character cells.
fn url_runs(row: &[String]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut at = 0;
    while at < row.len() {
        let rest: String = row[at..].iter().take(8).map(String::as_str).collect();
        let starts = rest.starts_with("https://") || rest.starts_with("http://");
        let after_space = at == 0 || row[at - 1] == " ";
        if !(starts && after_space) {
            at += 1;
            continue;
        }
        let mut end = at;
        while end < row.len() && is_url_cell(&row[end]) {
            end += 1;
        }
        // Punctuation after a URL is the sentence's, not the URL's.
        while end > at && matches!(row[end - 1].as_str(), "." | "," | ")" | ";") {
            end -= 1;
        }
        let cut = row.get(end).is_some_and(|c| c == "…");
        if !cut && end > at + 8 {
            runs.push((at, end - at));
        }
        at = end.max(at + 1);
    }
    runs
}

fn is_url_cell(symbol: &str) -> bool {
    let mut chars = symbol.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Style;

    fn row(text: &str) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, 60, 1));
        buf.set_string(0, 0, text, Style::new());
        buf
    }

    #[test]
    fn a_whole_url_becomes_one_linked_cell_of_its_width_and_the_rest_is_skipped() {
        let mut buf = row("n8n  https://d1.cloudfront.net/webhook/, ok");
        let area = buf.area;
        link_urls(&mut buf, area);
        let url = "https://d1.cloudfront.net/webhook/";
        let first = &buf[(5, 0)];
        assert_eq!(first.symbol(), osc8(url, url));
        assert_eq!(
            first.diff_option,
            CellDiffOption::ForcedWidth(NonZeroU16::new(url.len() as u16).unwrap())
        );
        for x in 6..5 + url.len() as u16 {
            assert_eq!(buf[(x, 0)].diff_option, CellDiffOption::Skip, "{x}");
        }
        assert_eq!(
            buf[(5 + url.len() as u16, 0)].symbol(),
            ",",
            "the comma stays text"
        );
        assert_eq!(buf[(0, 0)].symbol(), "n");
    }

    #[test]
    fn a_url_cut_short_or_inside_a_word_is_left_as_text() {
        for text in [
            "see http://203.0.113.9:56…",
            "xhttps://example.com/a",
            "https://",
        ] {
            let mut buf = row(text);
            let before = buf.clone();
            let area = buf.area;
            link_urls(&mut buf, area);
            assert_eq!(buf, before, "{text}");
        }
    }
}
