//! `kehu import customers/contacts/interactions FILE` on a terminal: a progress bar while the
//! file is read and written, the first rejected rows shown with their
//! reasons.

use kehu_import::Observer;
use kehu_store::import::Counts;

/// Rejected rows printed before the rest are only counted.
const SHOWN: usize = 20;

pub struct Terminal {
    bar: Option<indicatif::ProgressBar>,
    shown: usize,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            bar: None,
            shown: 0,
        }
    }

    fn bar(&mut self, total: Option<u64>) -> &indicatif::ProgressBar {
        self.bar.get_or_insert_with(|| {
            let (bar, style) = match total {
                Some(t) => (
                    indicatif::ProgressBar::new(t),
                    "{bar:40} {percent:>3}% {bytes}/{total_bytes} {msg} ({eta})",
                ),
                None => (
                    indicatif::ProgressBar::new_spinner(),
                    "{spinner} {pos} rows read {msg}",
                ),
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(style).expect("a valid template"),
            );
            bar
        })
    }

    /// Clears the bar before the summary is printed.
    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

impl Observer for Terminal {
    fn progress(&mut self, read: u64, total: Option<u64>, c: &Counts) {
        let bar = self.bar(total);
        bar.set_position(read);
        bar.set_message(format!(
            "{} new, {} updated, {} unchanged, {} rejected",
            c.created, c.updated, c.unchanged, c.rejected
        ));
    }

    fn building_indexes(&mut self) {
        if let Some(b) = &self.bar {
            b.set_message("正在重建索引 / building indexes");
        }
    }

    fn rejected(&mut self, line: u64, why: &str) {
        if self.shown < SHOWN {
            self.shown += 1;
            match &self.bar {
                Some(b) => b.suspend(|| eprintln!("line {line}: {why}")),
                None => eprintln!("line {line}: {why}"),
            }
        }
    }
}
