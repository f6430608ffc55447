//! Tests of checkpoint validation.
