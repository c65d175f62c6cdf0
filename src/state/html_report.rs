//! The HTML failure report: a failed wait's or unmet expectation's text and
//! the sequence diagram of the broker's connections, in one self-contained
//! file that opens from disk with no server (the diagram is drawn by
//! `src/web/diagram.js`, embedded, the same code as the live web view's).

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{BrokerState, Journal};
use crate::journal::Origin;

const DIAGRAM: &str = include_str!("../web/diagram.js");

/// The most recent connections a report draws.
const CONNECTIONS: usize = 12;
/// The frames of each connection a report carries (the last).
const FRAMES: usize = 500;
/// The characters of a body a report carries.
const BODY: usize = 500;

/// Reports written by this process, for unique file names.
static WRITTEN: AtomicU64 = AtomicU64::new(0);

impl BrokerState {
    /// With a report directory configured, writes the HTML report of a
    /// failure titled `title` whose text is `saw`, and adds its path to `saw`.
    pub(crate) fn write_html_report(&self, title: &str, saw: &mut String) {
        let Some(dir) = &self.config.report_dir else {
            return;
        };
        let html = self.read(|j| j.html_report(title, saw));
        match write(dir, &html) {
            Ok(path) => {
                let _ = writeln!(saw, "HTML report: {}", path.display());
            }
            Err(e) => {
                let _ = writeln!(
                    saw,
                    "(no HTML report: cannot write in {}: {e})",
                    dir.display()
                );
            }
        }
    }
}

fn write(dir: &Path, html: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let n = WRITTEN.fetch_add(1, Ordering::Relaxed) + 1;
    let path = dir.join(format!("stompbox-report-{}-{n}.html", std::process::id()));
    std::fs::write(&path, html)?;
    Ok(path)
}

impl Journal {
    /// The report page: `title`, the report's `text`, and the diagram.
    pub(crate) fn html_report(&self, title: &str, text: &str) -> String {
        let mut out = String::with_capacity(DIAGRAM.len() + text.len() * 2 + 4096);
        out.push_str(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stompbox: ",
        );
        escape_html(&mut out, title);
        out.push_str("</title><style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5em}pre{background:#f6f6f6;padding:1em;overflow:auto}#diagram{overflow:auto}</style></head><body>\n<h1>");
        escape_html(&mut out, title);
        out.push_str("</h1>\n<h2>What the broker saw</h2>\n<pre id=\"report\">");
        escape_html(&mut out, text);
        out.push_str("</pre>\n<h2>Sequence diagram</h2>\n<div id=\"diagram\"></div>\n<script type=\"application/json\" id=\"data\">");
        self.write_diagram_data(&mut out);
        out.push_str("</script>\n<script>\n");
        out.push_str(DIAGRAM);
        out.push_str("\ndocument.getElementById('diagram').innerHTML = StompboxDiagram.render(JSON.parse(document.getElementById('data').textContent), { max: 2000 });\n</script>\n</body></html>\n");
        out
    }

    /// The diagram's data (see `diagram.js`) as JSON.
    fn write_diagram_data(&self, out: &mut String) {
        let connections: Vec<_> = self
            .history
            .connections
            .values()
            .rev()
            .take(CONNECTIONS)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        out.push_str("{\"connections\":[");
        for (i, c) in connections.iter().enumerate() {
            comma(out, i);
            let label = match (&c.client_id, &c.login) {
                (Some(id), _) => format!("{}: {id}", c.id),
                (None, Some(login)) => format!("{}: {login}", c.id),
                (None, None) => format!("connection {}", c.id),
            };
            let _ = write!(out, "{{\"id\":{},\"label\":", c.id);
            json_string(out, &label);
            out.push('}');
        }
        out.push_str("],\"entries\":[");
        let mut entries: Vec<(std::time::Duration, u64, crate::journal::FrameRecord)> = Vec::new();
        for c in &connections {
            if let Some(transcript) = self.history.transcripts.get(&c.id) {
                entries.extend(
                    transcript
                        .last(FRAMES, &|seq| self.history.message(seq))
                        .into_iter()
                        .filter(|f| f.frame.is_some())
                        .map(|f| (f.at, c.id, f)),
                );
            }
        }
        // At the same instant, what came in (a SEND) before what it caused.
        entries.sort_by_key(|(at, _, f)| (*at, f.direction != crate::journal::Direction::In));
        for (i, (at, connection, record)) in entries.iter().enumerate() {
            let Some(frame) = &record.frame else { continue };
            comma(out, i);
            let direction = match record.direction {
                crate::journal::Direction::In => "in",
                _ => "out",
            };
            let _ = write!(
                out,
                "{{\"connection\":{connection},\"at_ms\":{:.3},\"direction\":\"{direction}\",\"command\":",
                at.as_secs_f64() * 1000.0
            );
            json_string(out, frame.command().as_str());
            out.push_str(",\"headers\":[");
            for (j, (name, value)) in frame.headers().iter().enumerate() {
                comma(out, j);
                out.push('[');
                json_string(out, name);
                out.push(',');
                json_string(out, value);
                out.push(']');
            }
            out.push_str("],\"body\":");
            body(out, frame.body());
            out.push('}');
        }
        out.push_str("],\"messages\":[");
        let mut first = true;
        for m in self.published().chain(self.uncommitted()) {
            let Origin::Client { connection, .. } = m.origin else {
                continue;
            };
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str("{\"message_id\":");
            json_string(out, &m.message_id);
            let _ = write!(out, ",\"connection\":{connection},\"destination\":");
            json_string(out, &m.destination);
            out.push_str(",\"body\":");
            body(out, &m.body);
            out.push('}');
        }
        out.push_str("]}");
    }
}

fn comma(out: &mut String, index: usize) {
    if index > 0 {
        out.push(',');
    }
}

/// A body as a JSON string (its first [`BODY`] characters), or `null` when
/// it is not text.
fn body(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let cut: String = text.chars().take(BODY).collect();
            json_string(out, &cut);
        }
        Err(_) => out.push_str("null"),
    }
}

/// `text` as a JSON string that is also safe inside a `<script>` element
/// (no `<`, `>` or `&`: they are written as `\u` escapes).
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn escape_html(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_cannot_close_the_script_they_sit_in() {
        let mut out = String::new();
        json_string(&mut out, "</script><b>\"x\"\\\n\u{1}");
        assert_eq!(out, r#""\u003c/script\u003e\u003cb\u003e\"x\"\\\n\u0001""#);
    }
}
