//! Login prompts on stderr (stdout is for the token): the URL to open or the device code,
//! a QR code of the device URL when it fits the terminal, and a spinner while waiting.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use flyte_auth::proto::Event;
use flyte_auth::proto::text::printable;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// Shows the agent's events to the human at this terminal.
#[derive(Debug)]
pub struct Prompter {
    tty: bool,
    spinner: Option<Spinner>,
}

impl Prompter {
    /// A prompter for this process's stderr.
    pub fn new() -> Self {
        Prompter {
            tty: std::io::stderr().is_terminal(),
            spinner: None,
        }
    }

    /// Whether a human can see what we print.
    pub fn interactive(&self) -> bool {
        self.tty
    }

    /// Prints `event`, then (on a terminal) spins until the next event or [`Prompter::done`].
    pub fn show(&mut self, event: &Event) {
        self.stop_spinner();
        // The agent already escapes network text; the client checks again before printing.
        let (text, waiting) = render(&printable_event(event), self.tty);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
        drop(err);
        if self.tty && !waiting.is_empty() {
            self.spinner = Some(Spinner::start(waiting));
        }
    }

    /// Stops the spinner and clears its line.
    pub fn done(&mut self) {
        self.stop_spinner();
    }

    fn stop_spinner(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.stop();
        }
    }
}

impl Drop for Prompter {
    fn drop(&mut self) {
        self.stop_spinner();
    }
}

/// `event` with every text field passed through [`printable`].
fn printable_event(event: &Event) -> Event {
    let p = |s: &String| printable(s).into_owned();
    match event {
        Event::OpenUrl { url, opened } => Event::OpenUrl {
            url: p(url),
            opened: *opened,
        },
        Event::DeviceCode {
            verification_uri,
            user_code,
            verification_uri_complete,
            expires_at,
        } => Event::DeviceCode {
            verification_uri: p(verification_uri),
            user_code: p(user_code),
            verification_uri_complete: verification_uri_complete.as_ref().map(p),
            expires_at: *expires_at,
        },
        Event::Progress { message } => Event::Progress {
            message: p(message),
        },
        Event::Unknown => Event::Unknown,
    }
}

/// The text for `event`, and what the spinner should say while waiting afterwards.
fn render(event: &Event, tty: bool) -> (String, String) {
    match event {
        Event::OpenUrl { url, opened: true } => (
            format!(
                "Your browser has been opened to log in. If it did not open, visit:\n  {url}\n"
            ),
            "Waiting for you to log in in the browser…".into(),
        ),
        Event::OpenUrl { url, opened: false } => (
            format!("Please open the following link in your browser to authenticate: {url}\n"),
            "Waiting for you to log in in the browser…".into(),
        ),
        Event::DeviceCode {
            verification_uri,
            user_code,
            verification_uri_complete,
            expires_at,
        } => {
            let url = verification_uri_complete
                .clone()
                .unwrap_or_else(|| format!("{verification_uri}?user_code={user_code}"));
            let mut s =
                format!("To Authenticate, navigate in a browser to the following URL:\n  {url}\n");
            s.push_str(&format!("and confirm the code {user_code}"));
            let left = expires_at.saturating_sub(now());
            if left > 0 {
                s.push_str(&format!(" (it expires in {}m {}s)", left / 60, left % 60));
            }
            s.push('\n');
            if tty && let Some(qr) = qr_that_fits(&url) {
                s.push_str(&qr);
            }
            (s, format!("Waiting for code {user_code} to be confirmed…"))
        }
        Event::Progress { message } => (format!("{message}\n"), String::new()),
        Event::Unknown => (String::new(), String::new()),
    }
}

/// A QR code of `url` in Unicode half blocks, if it fits the terminal.
fn qr_that_fits(url: &str) -> Option<String> {
    let (cols, rows) = terminal_size::terminal_size_of(std::io::stderr())
        .map(|(w, h)| (w.0 as usize, h.0 as usize))?;
    qr_within(url, cols, rows)
}

/// A QR code of `url` if it fits `cols` x `rows` with room left for the prompt around it.
fn qr_within(url: &str, cols: usize, rows: usize) -> Option<String> {
    let code = QrCode::new(url.as_bytes()).ok()?;
    let art = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    let width = art.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let height = art.lines().count();
    (width <= cols && height + 6 <= rows).then(|| format!("{art}\n"))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A one-line spinner on stderr, drawn by its own thread.
#[derive(Debug)]
struct Spinner {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Spinner {
    fn start(message: String) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                let _ = write!(
                    std::io::stderr().lock(),
                    "\r\x1b[2K{} {message}",
                    FRAMES[i % FRAMES.len()]
                );
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        });
        Spinner { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_prompt_reads_like_the_guide() {
        let e = Event::DeviceCode {
            verification_uri: "https://idp/activate".into(),
            user_code: "ABCD-EFGH".into(),
            verification_uri_complete: None,
            expires_at: 0,
        };
        let (text, waiting) = render(&e, false);
        assert!(text.starts_with("To Authenticate, navigate in a browser to the following URL:\n"));
        assert!(
            text.contains("https://idp/activate?user_code=ABCD-EFGH"),
            "{text}"
        );
        assert!(waiting.contains("ABCD-EFGH"));
    }

    #[test]
    fn unopened_browser_prompt_reads_like_flytekit() {
        let (text, _) = render(
            &Event::OpenUrl {
                url: "https://idp/auth?x".into(),
                opened: false,
            },
            false,
        );
        assert_eq!(
            text,
            "Please open the following link in your browser to authenticate: https://idp/auth?x\n"
        );
    }

    #[test]
    fn qr_code_only_when_it_fits_the_terminal() {
        let url = "https://idp.example.com/activate?user_code=ABCD-EFGH";
        let art = qr_within(url, 200, 100).expect("fits a large terminal");
        assert!(
            art.contains('█') || art.contains('▀') || art.contains('▄'),
            "{art}"
        );
        let width = art.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(width > 20 && width <= 200);
        assert_eq!(qr_within(url, width - 1, 100), None, "too narrow");
        assert_eq!(qr_within(url, 200, 10), None, "too short");
    }
}
