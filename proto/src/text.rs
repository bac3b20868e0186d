//! Making text that came from the network safe to print on a terminal.
//!
//! An IdP's `error_description`, a device `user_code`, a discovered URL or a body snippet can
//! carry escape sequences (clear the screen, rewrite the line above, set the window title,
//! hide text) or bidirectional overrides that make a terminal show something other than what
//! was sent. Both sides use [`printable`]: the agent when it builds a message from network
//! text, the client again before it prints anything the agent sent.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as is: C0/C1 controls (newlines and tabs included:
/// a message is one line), DEL, and the Unicode bidi embeddings, overrides and isolates.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character replaced by a visible escape (`\x1b`, `\u{202e}`), so
/// what is printed is what was sent. Borrows when there is nothing to replace.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// At most `max` bytes of `bytes` (lossy UTF-8), trimmed, [`printable`], and marked with `…`
/// when cut: a short quote of a body for an error message.
pub fn snippet(bytes: &[u8], max: usize) -> String {
    let cut = bytes.len() > max;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]);
    // A cut may split a multi-byte character: lossy decoding turns it into U+FFFD; drop it.
    let head = if cut {
        head.trim_end_matches('\u{FFFD}')
    } else {
        &head
    };
    let mut out = printable(head.trim()).into_owned();
    if cut {
        out.push('…');
    }
    out
}

/// `s` cut to at most `max` bytes (on a character boundary) and [`printable`].
pub fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return printable(s).into_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = printable(&s[..end]).into_owned();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_bidi_overrides() {
        assert!(matches!(printable("plain text"), Cow::Borrowed(_)));
        assert_eq!(
            printable("bad\x1b[2J\x1b]0;pwned\x07\nnext"),
            "bad\\x1b[2J\\x1b]0;pwned\\x07\\x0anext"
        );
        assert_eq!(printable("a\u{9b}b\u{7f}"), "a\\x9bb\\x7f");
        assert_eq!(printable("x\u{202e}y\u{2066}"), "x\\u{202e}y\\u{2066}");
        assert_eq!(printable("zoë ✓"), "zoë ✓");
    }

    #[test]
    fn snippets_are_short_and_safe() {
        assert_eq!(snippet(b"  <html>oops</html>\n", 100), "<html>oops</html>");
        assert_eq!(snippet(b"abcdef", 3), "abc…");
        assert_eq!(snippet("éé".as_bytes(), 3), "é…");
        assert_eq!(snippet(b"\x1b[31mred", 100), "\\x1b[31mred");
        assert_eq!(bounded("ééé", 3), "é…");
        assert_eq!(bounded("a\x1b", 5), "a\\x1b");
    }
}
