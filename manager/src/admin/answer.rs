//! The answers every admin resource shares: its methods, not found, a JSON body and its
//! members, and a host error as an HTTP status.

use super::http::{Request, Response};

/// `answer` for a resource read with GET only.
pub(super) fn only(request: &Request, method: &str, answer: impl FnOnce() -> Response) -> Response {
    if request.method == method {
        answer()
    } else {
        method_not_allowed(method)
    }
}

pub(super) fn method_not_allowed(allowed: &str) -> Response {
    let what = format!("this resource takes {allowed}");
    Response::error(405, "METHOD_NOT_ALLOWED", &what).with_header("Allow", allowed)
}

pub(super) fn not_found(path: &str) -> Response {
    Response::error(404, "NOT_FOUND", &format!("no resource at {path}"))
}

/// The JSON body of a request (an empty body is `{}`); [`Admin::admit`] checked its media type.
pub(super) fn body(request: &Request) -> Result<serde_json::Value, Response> {
    if request.body.is_empty() {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_slice(&request.body).map_err(|error| {
        Response::error(
            400,
            "INVALID_ARG",
            &format!("the body is not JSON: {error}"),
        )
    })
}

/// A string member of a JSON body, or the error naming it.
pub(super) fn member<'a>(body: &'a serde_json::Value, name: &str) -> Result<&'a str, Response> {
    match body.get(name) {
        Some(serde_json::Value::String(value)) if !value.is_empty() => Ok(value),
        Some(other) => Err(Response::error(
            400,
            "INVALID_ARG",
            &format!("\"{name}\" must be a non-empty string, not {other}"),
        )),
        None => Err(Response::error(
            400,
            "INVALID_ARG",
            &format!("the body has no \"{name}\""),
        )),
    }
}

/// The answer for a host operation that failed: the seed's code, and an HTTP status that says
/// the same.
pub(super) fn host_error(error: &crate::HostError) -> Response {
    let code = error.code();
    Response::error(status_of(code), code.as_str_name(), &error.to_string())
}

/// The HTTP status that says what a seed result code says.
pub(super) fn status_of(code: logi_plugin_core::ResponseCode) -> u16 {
    use logi_plugin_core::ResponseCode as Code;
    match code {
        Code::InvalidArg | Code::NoSuchPath | Code::InvalidVerb | Code::InvalidDevice => 400,
        Code::Unauthorized => 403,
        Code::NotFound => 404,
        Code::NotReady | Code::DuplicateName | Code::Conflict | Code::Cancelled => 409,
        Code::NotImplemented => 501,
        Code::Unreachable => 504,
        _ => 500,
    }
}
