//! The SDK's utilities (seed 7.2): open a web page, and keep a plugin's secrets in the
//! operating system's secret store (with the `secrets` feature, on by default; without it the
//! secret functions answer `LOGI_NOT_IMPLEMENTED`).

use std::ffi::c_char;

use logi_plugin_core::ResponseCode;

use crate::ffi::{Error, LogiBytes, entry, out, text};

/// Opens `url` in the default browser (seed 7.2.1), without waiting for it. Only `http://`
/// and `https://` URLs are opened (`LOGI_INVALID_ARG` otherwise).
///
/// # Safety
/// `url` is null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_open_url(url: *const c_char) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let url = unsafe { text(url, "url")? };
        logi_plugin_sdk::utilities::open_url(url).map_err(|error| match error {
            logi_plugin_sdk::utilities::OpenUrlError::NotWeb(_) => {
                Error::invalid_arg(format!("url: {error}"))
            }
            other => Error::new(ResponseCode::Faulted, other.to_string()),
        })
    })
}

/// Saves a secret under the plugin's name and the secret's name (seed 7.2.2), replacing any
/// earlier value. `LOGI_NOT_READY` when the system has no secret store.
///
/// # Safety
/// Each string is null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_save_secret(
    plugin_name: *const c_char,
    name: *const c_char,
    value: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (plugin_name, name, value) = unsafe {
            (
                text(plugin_name, "plugin_name")?,
                text(name, "name")?,
                text(value, "value")?,
            )
        };
        store::save(plugin_name, name, value)
    })
}

/// Loads a secret saved by `logi_save_secret` (seed 7.2.3) into `*out_value` (UTF-8, not
/// NUL-terminated; free it with `logi_bytes_free`). `LOGI_NOT_FOUND` when none is saved.
///
/// # Safety
/// Each string is null or NUL-terminated; `out_value` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_load_secret(
    plugin_name: *const c_char,
    name: *const c_char,
    out_value: *mut LogiBytes,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (out_value, plugin_name, name) = unsafe {
            (
                out(out_value, "out_value")?,
                text(plugin_name, "plugin_name")?,
                text(name, "name")?,
            )
        };
        let value = store::load(plugin_name, name)?.ok_or_else(|| {
            Error::new(
                ResponseCode::NotFound,
                format!("no secret {name:?} is saved for {plugin_name:?}"),
            )
        })?;
        out_value.put(LogiBytes::from_vec(value.into_bytes()));
        Ok(())
    })
}

/// Deletes a secret (seed 7.2.4); deleting one that is not there succeeds.
///
/// # Safety
/// Each string is null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_delete_secret(
    plugin_name: *const c_char,
    name: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (plugin_name, name) =
            unsafe { (text(plugin_name, "plugin_name")?, text(name, "name")?) };
        store::delete(plugin_name, name)
    })
}

#[cfg(feature = "secrets")]
mod store {
    //! The OS secret store, through the SDK.
    use logi_plugin_core::ResponseCode;
    use logi_plugin_sdk::utilities::{self, SecretError};

    use crate::ffi::Error;

    fn error(error: SecretError) -> Error {
        let code = match error {
            SecretError::Unavailable(_) => ResponseCode::NotReady,
            _ => ResponseCode::Faulted,
        };
        Error::new(code, error.to_string())
    }

    pub(super) fn save(plugin_name: &str, name: &str, value: &str) -> Result<(), Error> {
        utilities::save_secret(plugin_name, name, value).map_err(error)
    }

    pub(super) fn load(plugin_name: &str, name: &str) -> Result<Option<String>, Error> {
        utilities::load_secret(plugin_name, name).map_err(error)
    }

    pub(super) fn delete(plugin_name: &str, name: &str) -> Result<(), Error> {
        utilities::delete_secret(plugin_name, name).map_err(error)
    }
}

#[cfg(not(feature = "secrets"))]
mod store {
    //! Built without the `secrets` feature: no secret store.
    use logi_plugin_core::ResponseCode;

    use crate::ffi::Error;

    fn missing() -> Error {
        Error::new(
            ResponseCode::NotImplemented,
            "this logi_plugin library was built without the `secrets` feature: no secret store",
        )
    }

    pub(super) fn save(_: &str, _: &str, _: &str) -> Result<(), Error> {
        Err(missing())
    }

    pub(super) fn load(_: &str, _: &str) -> Result<Option<String>, Error> {
        Err(missing())
    }

    pub(super) fn delete(_: &str, _: &str) -> Result<(), Error> {
        Err(missing())
    }
}
