//! Media files for tests and examples: IVF (VP8, VP9, AV1), Ogg Opus and H.264/H.265 Annex B.
//!
//! Readers work on a file held in memory and never panic on bad input: every length is
//! checked and reported as a [`ParseError`](crate::ParseError).

pub mod annexb;
pub mod ivf;
pub mod ogg;
