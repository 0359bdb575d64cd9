//! How masking is measured (the test set, the property tests, the README figures): when a
//! secret counts as masked and a look-alike as damaged.

use super::PLACEHOLDER;

/// The length of a run of a secret's characters that must not survive masking.
pub const SURVIVING_RUN: usize = 4;

/// A secret's or a text's characters as compared: full-width forms folded to ASCII, whitespace
/// and hyphens dropped (an OTP typed `4 8 2 9 1 3` is the run `482913`).
fn significant(s: &str) -> Vec<char> {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

fn count(haystack: &[char], needle: &[char]) -> usize {
    if needle.is_empty() || needle.len() > haystack.len() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// True when the secret `value`, written in `original`, survives in `masked` (the masker's
/// output for `original`).
///
/// The criterion: take the value's significant characters (full-width folded to ASCII,
/// whitespace and hyphens dropped). The secret survives when some run of
/// [`SURVIVING_RUN`] consecutive characters of it (the whole value when it is shorter) occurs
/// more often in `masked` (placeholders `[masked:<kind>]` left out) than in `original` with the
/// value cut out, both compared the same way.
/// Counting against the text without the value keeps a label that shares letters with the
/// secret ("pass" in "my pass pass1234") from counting as a leak; any run left from the value
/// itself does count.
pub fn secret_survives(original: &str, value: &str, masked: &str) -> bool {
    let secret = significant(value);
    let without = significant(&original.replacen(value, " ", 1));
    let out = significant(&PLACEHOLDER.replace_all(masked, " "));
    let run = SURVIVING_RUN.min(secret.len());
    if run == 0 {
        return false;
    }
    secret
        .windows(run)
        .any(|w| count(&out, w) > count(&without, w))
}

/// True when the public value `value` (an order number, TXID, address, amount...) written in
/// `original` no longer appears verbatim in `masked`, as often as in `original`.
pub fn look_alike_damaged(original: &str, value: &str, masked: &str) -> bool {
    masked.matches(value).count() < original.matches(value).count().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_four_left_from_the_secret_is_a_leak() {
        assert!(secret_survives("OTP 482913", "482913", "OTP 482913"));
        assert!(secret_survives("OTP 482913", "482913", "OTP 48291[masked]"));
        assert!(!secret_survives("OTP 482913", "482913", "OTP 482[masked]"));
        assert!(!secret_survives(
            "OTP 482913",
            "482913",
            "OTP [masked:otp_code]"
        ));
    }

    #[test]
    fn spacing_and_full_width_do_not_hide_a_leak() {
        let text = "OTP ４ ８ ２ ９ １ ３";
        assert!(secret_survives(text, "４ ８ ２ ９ １ ３", text));
        assert!(secret_survives("code 482-913", "482-913", "code 482913"));
    }

    #[test]
    fn context_sharing_letters_with_the_secret_is_no_leak() {
        let text = "my pass pass1234";
        assert!(!secret_survives(
            text,
            "pass1234",
            "my pass [masked:password]"
        ));
        assert!(secret_survives(text, "pass1234", "my pass pass[masked]"));
        // the placeholder's own letters are no leak
        assert!(!secret_survives(
            "pw: password123",
            "password123",
            "pw: [masked:password]"
        ));
    }

    #[test]
    fn a_look_alike_must_survive_verbatim() {
        let text = "order id 4111111111111111";
        assert!(!look_alike_damaged(text, "4111111111111111", text));
        assert!(look_alike_damaged(
            text,
            "4111111111111111",
            "order id [masked:card_number]"
        ));
    }
}
