//! The errors this crate hands to its callers.

use crate::engine::CompileError;
use crate::opening_hours::SpecError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the script does not compile: {0}")]
    Compile(#[from] CompileError),
    #[error("invalid opening hours: {0}")]
    OpeningHours(#[from] SpecError),
    #[error("invalid parameter `{name}`: {message}")]
    Param { name: String, message: String },
}
