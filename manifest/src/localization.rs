//! Translating a manifest's user-facing strings (seed chapter 3).
//!
//! A package's `localization/` folder holds one YAML file per locale (`en-US.yaml`, `de.yaml`),
//! each mapping a manifest string to its translation. For a locale, the file named exactly for
//! it is used (ignoring case), else the one for its language alone (`de` for `de-AT`), else
//! `en-US.yaml`; with none of these, nothing is translated. A string with no key is shown as it
//! is.

use std::collections::HashMap;

use super::Manifest;

/// The locale used when no file matches the requested one.
pub const FALLBACK_LOCALE: &str = "en-US";

/// One locale's translations: manifest string -> translated string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Translations(HashMap<String, String>);

/// Why a localization file could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("localization/{locale}.yaml: {reason}")]
pub struct LocalizationError {
    /// The file's locale (its name without `.yaml`).
    pub locale: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Translations {
    /// Reads one YAML file: a mapping of strings to strings (numbers and booleans are taken
    /// as written).
    pub fn parse(locale: &str, yaml: &str) -> Result<Translations, LocalizationError> {
        let error = |reason: String| LocalizationError {
            locale: locale.to_string(),
            reason,
        };
        if yaml.trim().is_empty() {
            return Ok(Translations::default());
        }
        let map: HashMap<String, String> =
            serde_saphyr::from_str(yaml).map_err(|e| error(e.to_string()))?;
        Ok(Translations(map))
    }

    /// The translation of `text`, or `text` itself.
    pub fn translate<'a>(&'a self, text: &'a str) -> &'a str {
        self.0.get(text).map_or(text, String::as_str)
    }

    /// How many strings it translates.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it translates nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every locale a package has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Localizations {
    by_locale: HashMap<String, Translations>,
}

impl Localizations {
    /// Reads the package's files, given as (locale, YAML text); every bad file is reported.
    pub fn parse<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Localizations, Vec<LocalizationError>> {
        let mut by_locale = HashMap::new();
        let mut errors = Vec::new();
        for (locale, yaml) in files {
            match Translations::parse(locale, yaml) {
                Ok(translations) => {
                    by_locale.insert(locale.to_ascii_lowercase(), translations);
                }
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(Localizations { by_locale })
        } else {
            Err(errors)
        }
    }

    /// The translations for `locale`: its own file, its language's (`de` for `de-AT`), another
    /// region's of the same language (the first by name: `de-CH` before `de-DE`), or `en-US`'s.
    pub fn for_locale(&self, locale: &str) -> Option<&Translations> {
        let locale = locale.to_ascii_lowercase();
        let language = locale.split(['-', '_']).next().unwrap_or_default();
        let same_language = || {
            self.by_locale
                .iter()
                .filter(|(name, _)| {
                    let region = name.strip_prefix(language);
                    region.is_some_and(|region| region.starts_with(['-', '_']))
                })
                .min_by_key(|(name, _)| *name)
                .map(|(_, translations)| translations)
        };
        self.by_locale
            .get(&locale)
            .or_else(|| self.by_locale.get(language))
            .or_else(same_language)
            .or_else(|| self.by_locale.get(&FALLBACK_LOCALE.to_ascii_lowercase()))
    }

    /// `manifest` with its user-facing strings translated for `locale`.
    pub fn localize(&self, manifest: &Manifest, locale: &str) -> Manifest {
        let mut localized = manifest.clone();
        let Some(t) = self.for_locale(locale) else {
            return localized;
        };
        let tr = |text: &mut String| *text = t.translate(text).to_string();
        tr(&mut localized.name);
        tr(&mut localized.description);
        for group in &mut localized.groups {
            tr(&mut group.name);
        }
        for action in &mut localized.actions {
            tr(&mut action.name);
            tr(&mut action.tooltip);
        }
        for control in &mut localized.controls {
            tr(&mut control.name);
            tr(&mut control.tooltip);
            if let Some(unit) = &mut control.unit_of_measurement {
                tr(unit);
            }
        }
        localized
    }

    /// The manifest as its file holds it (JSON), with the strings [`localize`](Self::localize)
    /// translates translated for `locale`; the rest, unknown fields included, as written.
    pub fn localize_json(&self, manifest: &mut serde_json::Value, locale: &str) {
        let Some(t) = self.for_locale(locale) else {
            return;
        };
        // The same fields as `localize`, by their names in the file.
        translate_fields(t, manifest, &["name", "description"]);
        let lists: [(&str, &[&str]); 3] = [
            ("groups", &["name"]),
            ("actions", &["name", "tooltip"]),
            ("controls", &["name", "tooltip", "unitOfMeasurement"]),
        ];
        for (list, fields) in lists {
            if let Some(serde_json::Value::Array(items)) = manifest.get_mut(list) {
                for item in items {
                    translate_fields(t, item, fields);
                }
            }
        }
    }
}

/// Translates the string members `fields` of a JSON object.
fn translate_fields(t: &Translations, object: &mut serde_json::Value, fields: &[&str]) {
    for field in fields {
        if let Some(serde_json::Value::String(text)) = object.get_mut(*field) {
            *text = t.translate(text).to_string();
        }
    }
}
