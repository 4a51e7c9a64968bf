//! The one kind of error the addon throws for a bad argument.

use napi::{Env, Error, Status};

/// `code` of every argument error.
pub const INVALID_ARG: &str = "EXA_ERR_INVALID_ARG";

/// Throws a `TypeError` whose `code` is `EXA_ERR_INVALID_ARG`, and returns the
/// marker error that tells napi an exception is already pending.
pub fn invalid(env: &Env, message: String) -> Error {
    match env.throw_type_error(&message, Some(INVALID_ARG)) {
        Ok(()) => Error::new(Status::PendingException, String::new()),
        // Throwing failed (the environment is going away): napi throws this instead.
        Err(error) => error,
    }
}
