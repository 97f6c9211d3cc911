use super::ChromiumError;

/// A key press as [`Page::press`](super::Page::press) sends it: modifiers held and one key,
/// written like `"Control+Enter"`, `"Control+A"` or `"Escape"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chord {
    /// The DevTools modifier bits: Alt 1, Control 2, Meta 4, Shift 8.
    pub modifiers: u32,
    /// The key's `key` value (`"Enter"`, `"a"`).
    pub key: String,
    /// The physical key's `code` (`"Enter"`, `"KeyA"`).
    pub code: String,
    /// The Windows virtual key code, which Chromium and editors read from `keyCode`.
    pub key_code: u32,
}

impl Chord {
    /// Parses `"Modifier+...+Key"`: modifiers `Alt`, `Control` (or `Ctrl`), `Meta`, `Shift`;
    /// keys `A`-`Z`, `0`-`9`, `Enter`, `Tab`, `Escape`, `Backspace`, `Delete`.
    pub fn parse(chord: &str) -> Result<Self, ChromiumError> {
        let invalid = |why: &str| ChromiumError::Protocol {
            method: "press".into(),
            message: format!("`{chord}`: {why}"),
        };
        let mut parts: Vec<&str> = chord.split('+').collect();
        let key = parts
            .pop()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| invalid("no key"))?;
        let mut modifiers = 0;
        for modifier in parts {
            modifiers |= match modifier {
                "Alt" => 1,
                "Control" | "Ctrl" => 2,
                "Meta" => 4,
                "Shift" => 8,
                other => return Err(invalid(&format!("unknown modifier `{other}`"))),
            };
        }
        let shifted = modifiers & 8 != 0;
        let (key, code, key_code) = match key {
            "Enter" => ("Enter".to_owned(), "Enter".to_owned(), 13),
            "Tab" => ("Tab".to_owned(), "Tab".to_owned(), 9),
            "Escape" => ("Escape".to_owned(), "Escape".to_owned(), 27),
            "Backspace" => ("Backspace".to_owned(), "Backspace".to_owned(), 8),
            "Delete" => ("Delete".to_owned(), "Delete".to_owned(), 46),
            single if single.len() == 1 && single.as_bytes()[0].is_ascii_alphanumeric() => {
                let c = single.as_bytes()[0].to_ascii_uppercase() as char;
                let code = if c.is_ascii_digit() {
                    format!("Digit{c}")
                } else {
                    format!("Key{c}")
                };
                let key = if shifted { c } else { c.to_ascii_lowercase() };
                (key.to_string(), code, u32::from(c))
            }
            other => return Err(invalid(&format!("unknown key `{other}`"))),
        };
        Ok(Self {
            modifiers,
            key,
            code,
            key_code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_name_their_modifiers_and_key() {
        let run = Chord::parse("Control+Enter").unwrap();
        assert_eq!(
            run,
            Chord {
                modifiers: 2,
                key: "Enter".into(),
                code: "Enter".into(),
                key_code: 13
            }
        );
        let select_all = Chord::parse("Ctrl+a").unwrap();
        assert_eq!((select_all.modifiers, select_all.key_code), (2, 65));
        assert_eq!(
            (select_all.key.as_str(), select_all.code.as_str()),
            ("a", "KeyA")
        );
        let shifted = Chord::parse("Shift+Alt+7").unwrap();
        assert_eq!((shifted.modifiers, shifted.code.as_str()), (9, "Digit7"));
        assert_eq!(Chord::parse("Escape").unwrap().key_code, 27);
    }

    #[test]
    fn unknown_keys_and_modifiers_are_refused() {
        for chord in ["", "Control+", "Hyper+A", "Control+F13", "Control+é"] {
            assert!(Chord::parse(chord).is_err(), "{chord}");
        }
    }
}
